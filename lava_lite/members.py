"""What ports and Vars have in common: a shape, an attribute name and an owning Process."""
from __future__ import annotations

import numbers

#: Longest Process name and member (port, Var) attribute name, in characters. Names travel
#: in control messages of bounded size (get/set, the chip's configuration, errors); the
#: wire and the chip protocol take their limits from here.
MAX_NAME_CHARS = 200


def check_name_length(name: str, what: str, owner: str) -> None:
    """Raise ValueError naming ``owner`` (a Process or its class) if ``name``, its ``what``
    (its "name", a "Var attribute name", ...), is longer than MAX_NAME_CHARS."""
    if len(name) > MAX_NAME_CHARS:
        raise ValueError(f"{owner}: {what} {name[:40]!r}... has {len(name)} characters; at "
                         f"most {MAX_NAME_CHARS} are allowed (lava_lite.members.MAX_NAME_CHARS)")


def normalize_shape(shape) -> tuple[int, ...]:
    """Turn ``5`` or ``(2, 3)`` into a tuple of non-negative ints, refusing anything else."""
    if isinstance(shape, numbers.Integral):
        shape = (int(shape),)
    try:
        result = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise TypeError(f"shape must be an int or a tuple of ints, got {shape!r}") from None
    if any(d < 0 for d in result) or any(int(d) != d for d in shape):
        raise ValueError(f"shape must hold non-negative ints, got {shape!r}")
    return result


class ProcessMember:
    """A port or Var; gets its name and Process when assigned as a Process attribute."""

    def __init__(self, shape: tuple[int, ...]):
        self.shape = shape
        self.name: str | None = None
        self.process = None

    def attach(self, process, name: str) -> None:
        """Become member ``name`` of ``process`` (Process.__setattr__ calls this)."""
        check_name_length(name, f"{type(self).__name__} attribute name",
                          f"Process '{process.name}' ({type(process).__name__})")
        self.name, self.process = name, process

    @property
    def size(self) -> int:
        size = 1
        for d in self.shape:
            size *= d
        return size

    @property
    def qualified_name(self) -> str:
        owner = self.process.name if self.process is not None else "<unattached>"
        return f"{owner}.{self.name or '<unnamed>'}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.qualified_name}, shape={self.shape})"

"""What ports and Vars have in common: a shape, an attribute name and an owning Process."""
from __future__ import annotations

import numbers


def normalize_shape(shape) -> tuple[int, ...]:
    """Turn ``5`` or ``(2, 3)`` into a tuple of non-negative ints, refusing anything else."""
    if isinstance(shape, numbers.Integral):
        shape = (int(shape),)
    try:
        result = tuple(int(d) for d in shape)
    except TypeError:
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

"""Ports: how Processes exchange data. OutPorts send, InPorts receive; fan-out copies, fan-in sums.

Every port can be transformed: ``reshape``, ``flatten``, ``transpose`` and ``concat_with``
return *virtual* ports (``lava_lite.virtual_ports``) that exist only in the graph; the
compiler folds their transforms into the channels whose paths run through them.

A link between two ports may carry transform steps (``{"op": name, **fields}`` dicts, as in
``ChannelPlan.transform``) that turn data of the upstream port's shape into data of the
downstream port's shape; plain connections carry none.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator

from lava_lite.members import ProcessMember, normalize_shape

# Undo logs of connections (and Var aliases) being recorded, innermost last. The compiler
# records what a SubProcessModel connects so that it can take it back (see ``recording``).
_LOGS: list[list[Callable[[], None]]] = []


@contextlib.contextmanager
def recording() -> Iterator[list[Callable[[], None]]]:
    """Record every link (and Var alias) made inside the block; the yielded list holds one
    undo function per change, oldest first."""
    log: list[Callable[[], None]] = []
    _LOGS.append(log)
    try:
        yield log
    finally:
        _LOGS.remove(log)


def undo(log: list[Callable[[], None]]) -> None:
    """Take back the changes recorded in ``log``, newest first."""
    while log:
        log.pop()()


def log_change(undo_function: Callable[[], None]) -> None:
    """Register how to undo a graph change with the innermost recording, if any."""
    if _LOGS:
        _LOGS[-1].append(undo_function)


def _as_list(ports) -> list:
    return list(ports) if isinstance(ports, (list, tuple)) else [ports]


def io_kind(port) -> str | None:
    """"out" for OutPorts (and ports derived from them), "in" for InPorts, else None."""
    return getattr(port, "io_kind", None) if isinstance(port, AbstractPort) else None


class AbstractPort(ProcessMember):
    """A port with a shape; keeps the ports it sends to and receives from."""

    io_kind: str | None = None

    def __init__(self, shape):
        super().__init__(normalize_shape(shape))
        self.out_connections: list[AbstractPort] = []  # downstream
        self.in_connections: list[AbstractPort] = []  # upstream
        # downstream port -> transform steps of each link to it, in link order
        self._link_steps: dict[AbstractPort, list[tuple[dict, ...]]] = {}

    # -- links -----------------------------------------------------------------------------
    def _check_link(self, other: "AbstractPort") -> None:
        if not isinstance(other, AbstractPort):
            raise TypeError(f"{self.qualified_name} can only connect to a port, "
                            f"got {type(other).__name__}")
        if other.shape != self.shape:
            raise ValueError(
                f"cannot connect {self.qualified_name} (shape {self.shape}) to "
                f"{other.qualified_name} (shape {other.shape}): shapes differ")
        if other is self:
            raise ValueError(f"cannot connect {self.qualified_name} to itself")
        if other in self.out_connections:
            raise ValueError(f"{self.qualified_name} is already connected to "
                             f"{other.qualified_name}")

    def _link_to(self, other: "AbstractPort", steps: tuple[dict, ...] = ()) -> None:
        """Add the link self -> other carrying ``steps`` (shapes are the caller's business
        when there are steps; without, they must be equal)."""
        if not steps:
            self._check_link(other)
        self.out_connections.append(other)
        other.in_connections.append(self)
        self._link_steps.setdefault(other, []).append(tuple(steps))
        log_change(lambda: self._unlink(other))

    def _unlink(self, other: "AbstractPort") -> None:
        """Remove the newest link self -> other."""
        index = len(self.out_connections) - 1 - self.out_connections[::-1].index(other)
        del self.out_connections[index]
        index = len(other.in_connections) - 1 - other.in_connections[::-1].index(self)
        del other.in_connections[index]
        steps = self._link_steps.get(other)
        if steps:
            steps.pop()
            if not steps:
                del self._link_steps[other]

    def downstream(self) -> list[tuple["AbstractPort", tuple[dict, ...]]]:
        """(port, transform steps) of each outgoing link, in connection order."""
        result, seen = [], {}
        for other in self.out_connections:
            k = seen[other] = seen.get(other, -1) + 1
            steps = self._link_steps.get(other, ())
            result.append((other, steps[k] if k < len(steps) else ()))
        return result

    def upstream(self) -> list[tuple["AbstractPort", tuple[dict, ...]]]:
        """(port, transform steps) of each incoming link, in connection order."""
        result, seen = [], {}
        for other in self.in_connections:
            k = seen[other] = seen.get(other, -1) + 1
            steps = other._link_steps.get(self, ())
            result.append((other, steps[k] if k < len(steps) else ()))
        return result

    # -- transforms (virtual ports) ------------------------------------------------------
    def reshape(self, shape) -> "AbstractPort":
        """A virtual port with this port's data in ``shape`` (same number of elements,
        C order). On an OutPort: ``src.s_out.reshape((2, 3)).connect(dst.a_in)``; on an
        InPort: ``src.s_out.connect(dst.a_in.reshape(src.s_out.shape))``."""
        from lava_lite.virtual_ports import ReshapePort
        return ReshapePort(self, shape)

    def flatten(self) -> "AbstractPort":
        """``reshape((size,))``."""
        return self.reshape((self.size,))

    def transpose(self, axes=None) -> "AbstractPort":
        """A virtual port with this port's axes permuted as ``numpy.transpose(axes)``
        (``None``: reversed)."""
        from lava_lite.virtual_ports import TransposePort
        return TransposePort(self, axes)

    def concat_with(self, ports, axis: int = 0) -> "AbstractPort":
        """A virtual port holding this port's data followed by that of ``ports`` along
        ``axis``: ``a.s_out.concat_with(b.s_out, axis=0).connect(dst.a_in)``."""
        from lava_lite.virtual_ports import ConcatPort
        return ConcatPort([self, *_as_list(ports)], axis)


def _connect(src: AbstractPort, dst: AbstractPort) -> None:
    """Link ``src`` -> ``dst`` once both are checked; a virtual port at either end is
    attached to the ports it derives from (as a source: after them; as a destination:
    before them)."""
    from lava_lite.virtual_ports import VirtualPort

    src._check_link(dst)
    if isinstance(src, VirtualPort):
        src._check_role("source")
    if isinstance(dst, VirtualPort):
        dst._check_role("destination")
    if isinstance(src, VirtualPort):
        src._attach("source")
    if isinstance(dst, VirtualPort):
        dst._attach("destination")
    src._link_to(dst)


def _require_kind(port: AbstractPort, other, kinds: tuple[str, ...], what: str) -> None:
    if io_kind(other) not in kinds:
        raise TypeError(f"{port.qualified_name} ({type(port).__name__}) {what}, "
                        f"not {type(other).__name__}")


class OutPort(AbstractPort):
    """Sends data. ``connect`` to InPorts of other Processes (or to a parent's OutPort)."""

    io_kind = "out"

    def connect(self, ports) -> None:
        for port in _as_list(ports):
            _require_kind(self, port, ("in", "out"),
                          "can connect to an InPort or a parent's OutPort")
            _connect(self, port)

    def connect_from(self, ports) -> None:
        """Receive from a child Process's OutPort (hierarchical Processes)."""
        for port in _as_list(ports):
            _require_kind(self, port, ("out",), "can only connect_from an OutPort")
            _connect(port, self)


class InPort(AbstractPort):
    """Receives data. Several sources are summed (in a fixed order, by source)."""

    io_kind = "in"

    def connect(self, ports) -> None:
        """Forward to a child Process's InPort (hierarchical Processes)."""
        for port in _as_list(ports):
            _require_kind(self, port, ("in",), "can only connect to a child's InPort")
            _connect(self, port)

    def connect_from(self, ports) -> None:
        for port in _as_list(ports):
            _require_kind(self, port, ("out", "in"),
                          "can connect_from an OutPort or a parent's InPort")
            _connect(port, self)

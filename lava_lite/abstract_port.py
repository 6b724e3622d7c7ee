"""AbstractPort: what every port is, real or virtual: a member with a shape and links.

A link between two ports may carry transform steps (``{"op": name, **fields}`` dicts, as in
``ChannelPlan.transform``) that turn data of the upstream port's shape into data of the
downstream port's shape; plain connections carry none. Every link made is logged
(``lava_lite.undo_log``), so the compiler can take back what a SubProcessModel connected.

This module knows no kind of port: InPorts and OutPorts are in ``lava_lite.ports``, the
reshape/transpose/concat views in ``lava_lite.virtual_ports``, RefPorts and VarPorts in
``lava_lite.ref_ports``.
"""
from __future__ import annotations

from lava_lite.members import ProcessMember, normalize_shape
from lava_lite.undo_log import log_change


def as_list(ports) -> list:
    """``ports`` as a list: a list or tuple of ports, or a single port."""
    return list(ports) if isinstance(ports, (list, tuple)) else [ports]


def io_kind(port) -> str | None:
    """"out" for OutPorts (and ports derived from them), "in" for InPorts, else None."""
    return getattr(port, "io_kind", None) if isinstance(port, AbstractPort) else None


def require_kind(port: "AbstractPort", other, kinds: tuple[str, ...], what: str) -> None:
    """Refuse ``other`` unless its ``io_kind`` is one of ``kinds``.

    Parameters
    ----------
    port : AbstractPort
        The port being connected, named in the message.
    other : object
        What it is being connected to.
    kinds : tuple of str
        The accepted ``io_kind`` values ("in", "out").
    what : str
        What ``port`` can connect to, e.g. "can only connect to a child's InPort".
    """
    if io_kind(other) not in kinds:
        raise TypeError(f"{port.qualified_name} ({type(port).__name__}) {what}, "
                        f"not {type(other).__name__}")


class AbstractPort(ProcessMember):
    """A port with a shape; keeps the ports it sends to and receives from.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the data the port carries.
    """

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

    def _check_role(self, role: str) -> None:
        """Refuse to be used as a "source" or "destination" of a connection. A real port
        may be either; a virtual port takes its role from its first connection."""

    def _attach(self, role: str) -> None:
        """Link to the ports this one derives from, as ``role``: nothing for a real port."""

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
        return _with_steps(self.out_connections, lambda other: self._link_steps.get(other, ()))

    def upstream(self) -> list[tuple["AbstractPort", tuple[dict, ...]]]:
        """(port, transform steps) of each incoming link, in connection order."""
        return _with_steps(self.in_connections, lambda other: other._link_steps.get(self, ()))


def _with_steps(connections: list, steps_of) -> list:
    """Each of ``connections`` with the steps of its link: the k-th link to the same port
    takes the k-th entry of ``steps_of(port)`` (none if there are fewer)."""
    result, seen = [], {}
    for other in connections:
        k = seen[other] = seen.get(other, -1) + 1
        steps = steps_of(other)
        result.append((other, steps[k] if k < len(steps) else ()))
    return result


def connect_ports(src: AbstractPort, dst: AbstractPort) -> None:
    """Link ``src`` -> ``dst`` once both are checked; a virtual port at either end is
    attached to the ports it derives from (as a source: after them; as a destination:
    before them).

    Parameters
    ----------
    src, dst : AbstractPort
        Where data comes from and where it goes.
    """
    src._check_link(dst)
    src._check_role("source")
    dst._check_role("destination")
    src._attach("source")
    dst._attach("destination")
    src._link_to(dst)

"""Ports: how Processes exchange data. OutPorts send, InPorts receive; fan-out copies, fan-in sums."""
from __future__ import annotations

from lava_lite.members import ProcessMember, normalize_shape


def _as_list(ports) -> list:
    return list(ports) if isinstance(ports, (list, tuple)) else [ports]


class AbstractPort(ProcessMember):
    """A port with a shape; keeps the ports it sends to and receives from."""

    def __init__(self, shape):
        super().__init__(normalize_shape(shape))
        self.out_connections: list[AbstractPort] = []  # downstream
        self.in_connections: list[AbstractPort] = []  # upstream

    def _link_to(self, other: "AbstractPort") -> None:
        if not isinstance(other, AbstractPort):
            raise TypeError(f"{self.qualified_name} can only connect to a port, "
                            f"got {type(other).__name__}")
        if other.shape != self.shape:
            raise ValueError(
                f"cannot connect {self.qualified_name} (shape {self.shape}) to "
                f"{other.qualified_name} (shape {other.shape}): shapes differ")
        if other in self.out_connections:
            raise ValueError(f"{self.qualified_name} is already connected to "
                             f"{other.qualified_name}")
        self.out_connections.append(other)
        other.in_connections.append(self)


class OutPort(AbstractPort):
    """Sends data. ``connect`` to InPorts of other Processes (or to a parent's OutPort)."""

    def connect(self, ports) -> None:
        for port in _as_list(ports):
            if not isinstance(port, (InPort, OutPort)):
                raise TypeError(f"{self.qualified_name} (OutPort) can connect to an InPort "
                                f"or a parent's OutPort, not {type(port).__name__}")
            self._link_to(port)

    def connect_from(self, ports) -> None:
        """Receive from a child Process's OutPort (hierarchical Processes)."""
        for port in _as_list(ports):
            if not isinstance(port, OutPort):
                raise TypeError(f"{self.qualified_name} (OutPort) can only connect_from "
                                f"an OutPort, not {type(port).__name__}")
            port._link_to(self)


class InPort(AbstractPort):
    """Receives data. Several sources are summed (in a fixed order, by source)."""

    def connect(self, ports) -> None:
        """Forward to a child Process's InPort (hierarchical Processes)."""
        for port in _as_list(ports):
            if not isinstance(port, InPort):
                raise TypeError(f"{self.qualified_name} (InPort) can only connect to a "
                                f"child's InPort, not {type(port).__name__}")
            self._link_to(port)

    def connect_from(self, ports) -> None:
        for port in _as_list(ports):
            if not isinstance(port, (OutPort, InPort)):
                raise TypeError(f"{self.qualified_name} (InPort) can connect_from an OutPort "
                                f"or a parent's InPort, not {type(port).__name__}")
            port._link_to(self)

"""Ports: how Processes exchange data. OutPorts send, InPorts receive; fan-out copies, fan-in sums.

Every port can be transformed: ``reshape``, ``flatten``, ``transpose`` and ``concat_with``
(``lava_lite.virtual_ports.PortViews``) return *virtual* ports that exist only in the graph;
the compiler folds their transforms into the channels whose paths run through them. Links
and their transform steps are kept by ``lava_lite.abstract_port.AbstractPort``.
"""
from __future__ import annotations

from lava_lite.abstract_port import AbstractPort, as_list, connect_ports, require_kind
from lava_lite.virtual_ports import PortViews


class OutPort(PortViews, AbstractPort):
    """Sends data. ``connect`` to InPorts of other Processes (or to a parent's OutPort).

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the data sent each step.
    """

    io_kind = "out"

    def connect(self, ports) -> None:
        """Send to ``ports`` (InPorts, or the OutPort of this Process's parent)."""
        for port in as_list(ports):
            require_kind(self, port, ("in", "out"),
                         "can connect to an InPort or a parent's OutPort")
            connect_ports(self, port)

    def connect_from(self, ports) -> None:
        """Receive from a child Process's OutPort (hierarchical Processes)."""
        for port in as_list(ports):
            require_kind(self, port, ("out",), "can only connect_from an OutPort")
            connect_ports(port, self)


class InPort(PortViews, AbstractPort):
    """Receives data. Several sources are summed (in a fixed order, by source).

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the data received each step.
    """

    io_kind = "in"

    def connect(self, ports) -> None:
        """Forward to a child Process's InPort (hierarchical Processes)."""
        for port in as_list(ports):
            require_kind(self, port, ("in",), "can only connect to a child's InPort")
            connect_ports(self, port)

    def connect_from(self, ports) -> None:
        """Receive from ``ports`` (OutPorts, or the InPort of this Process's parent)."""
        for port in as_list(ports):
            require_kind(self, port, ("out", "in"),
                         "can connect_from an OutPort or a parent's InPort")
            connect_ports(port, self)

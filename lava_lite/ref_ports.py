"""Remote memory access: a RefPort reads and writes another Process's Var through its VarPort.

Reads and writes happen in the management phases (``run_pre_mgmt``, ``run_lrn``,
``run_post_mgmt``): a read returns the Var as it is at that point of the step, a write is seen
by the owner before its next spike phase. Each moves the whole array in one message.
"""
from __future__ import annotations

from lava_lite.members import normalize_shape
from lava_lite.abstract_port import AbstractPort
from lava_lite.var import Var


class VarPort(AbstractPort):
    """Makes ``var`` reachable by RefPorts of other Processes. Declare it on the Var's owner
    (``self.v_port = VarPort(self.v)``) or let ``RefPort.connect_var`` create it implicitly.

    Parameters
    ----------
    var : Var
        The Var it serves.
    """

    def __init__(self, var: Var):
        if not isinstance(var, Var):
            raise TypeError(f"VarPort needs a Var, got {type(var).__name__}")
        super().__init__(var.shape)
        self.var = var


class RefPort(AbstractPort):
    """Reads/writes a Var of another Process during management phases.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the Var it reaches.
    """

    def __init__(self, shape):
        super().__init__(normalize_shape(shape))

    def _link_to(self, other: AbstractPort) -> None:
        if self.out_connections:
            raise ValueError(f"{self.qualified_name} already reaches "
                             f"{self.out_connections[0].var.qualified_name}; a RefPort reaches "
                             f"one Var (declare one RefPort per Var)")
        super()._link_to(other)

    def connect(self, var_ports) -> None:
        for port in var_ports if isinstance(var_ports, (list, tuple)) else [var_ports]:
            if not isinstance(port, VarPort):
                raise TypeError(f"{self.qualified_name} (RefPort) connects to a VarPort, "
                                f"not {type(port).__name__}; use connect_var for a Var")
            self._link_to(port)

    def connect_var(self, var: Var) -> None:
        """Connect to ``var`` through an implicit VarPort on its Process."""
        if not isinstance(var, Var) or var.process is None:
            raise TypeError(f"{self.qualified_name}.connect_var needs a Var of a Process, "
                            f"got {var!r}")
        port = VarPort(var)
        port.name, port.process = f"{var.name}_implicit_var_port", var.process
        self._link_to(port)
        var.process._implicit_ports.append(port)

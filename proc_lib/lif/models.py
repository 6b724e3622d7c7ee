"""How LIF runs: float CPU model (bit-accurate fixed-point model in models_fixed)."""
from __future__ import annotations

import numpy as np

from lava_lite import (CPU, InPortType, LoihiProcessModel, LoihiProtocol, OutPortType,
                       VarType, implements, requires, tag)
from lava_lite.proc_lib.lif.process import LIF


@implements(proc=LIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyLifFloat(LoihiProcessModel):
    """Float LIF; ``bias_exp`` is not used in float (as in Lava)."""

    a_in = InPortType(np.float64)
    s_out = OutPortType(np.float64)
    u = VarType(np.float64)
    v = VarType(np.float64)
    du = VarType(np.float64)
    dv = VarType(np.float64)
    vth = VarType(np.float64)
    bias_mant = VarType(np.float64)
    bias_exp = VarType(np.float64)

    def run_spk(self) -> None:
        a_in = self.a_in.recv()
        self.u[:] = self.u * (1 - self.du) + a_in
        self.v[:] = self.v * (1 - self.dv) + self.u + self.bias_mant
        spikes = self.v > self.vth
        self.v[spikes] = 0
        self.s_out.send(spikes)

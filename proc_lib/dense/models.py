"""How Dense runs: float CPU model."""
from __future__ import annotations

import numpy as np

from lava_lite import (CPU, InPortType, LoihiProcessModel, LoihiProtocol, OutPortType,
                       VarType, implements, requires, tag)
from lava_lite.proc_lib.dense.process import Dense


@implements(proc=Dense, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyDenseFloat(LoihiProcessModel):
    s_in = InPortType(np.float64)
    a_out = OutPortType(np.float64, delayed=True)
    weights = VarType(np.float64)

    def run_spk(self) -> None:
        s_in = self.s_in.recv()
        if self.proc_params["num_message_bits"] == 0:
            s_in = s_in != 0
        self.a_out.send(self.weights @ s_in)

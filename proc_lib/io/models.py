"""How the ring buffers run: float CPU models."""
from __future__ import annotations

import numpy as np

from lava_lite import (CPU, InPortType, LoihiProcessModel, LoihiProtocol, OutPortType,
                       VarType, implements, requires, tag)
from lava_lite.proc_lib.io.process import SinkRingBuffer, SourceRingBuffer


@implements(proc=SourceRingBuffer, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PySourceRingBufferFloat(LoihiProcessModel):
    s_out = OutPortType(np.float64)
    data = VarType(np.float64)

    def run_spk(self) -> None:
        self.s_out.send(self.data[..., (self.time_step - 1) % self.data.shape[-1]])


@implements(proc=SinkRingBuffer, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PySinkRingBufferFloat(LoihiProcessModel):
    a_in = InPortType(np.float64)
    data = VarType(np.float64)

    def run_spk(self) -> None:
        self.data[..., (self.time_step - 1) % self.data.shape[-1]] = self.a_in.recv()

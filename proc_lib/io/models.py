"""How the ring buffers run: float and integer (fixed-point) CPU models."""
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
        # A view: the model never changes its data in place (set() rebinds the Var).
        self.s_out.send(self.data[..., (self.time_step - 1) % self.data.shape[-1]], copy=False)


@implements(proc=SinkRingBuffer, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PySinkRingBufferFloat(LoihiProcessModel):
    a_in = InPortType(np.float64)
    data = VarType(np.float64)

    def run_spk(self) -> None:
        self.data[..., (self.time_step - 1) % self.data.shape[-1]] = self.a_in.recv()


@implements(proc=SourceRingBuffer, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
class PySourceRingBufferFixed(LoihiProcessModel):
    """Replays integer data (int32), e.g. spikes or graded payloads for fixed-point models."""

    s_out = OutPortType(np.int32)
    data = VarType(np.int32)

    def run_spk(self) -> None:
        # A view: the model never changes its data in place (set() rebinds the Var).
        self.s_out.send(self.data[..., (self.time_step - 1) % self.data.shape[-1]], copy=False)


@implements(proc=SinkRingBuffer, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
class PySinkRingBufferFixed(LoihiProcessModel):
    """Records integer data (int32)."""

    a_in = InPortType(np.int32)
    data = VarType(np.int32)

    def run_spk(self) -> None:
        self.data[..., (self.time_step - 1) % self.data.shape[-1]] = self.a_in.recv()

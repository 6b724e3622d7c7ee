"""How LIF runs: float CPU model, bit-accurate fixed-point (Loihi) CPU model, chip model."""
from __future__ import annotations

import numpy as np

from lava_lite import (CPU, CompileError, InPortType, LoihiProcessModel, LoihiProtocol,
                       NeuroCore, OutPortType, VarType, implements, requires, tag)
from lava_lite.model import DeviceProcessModel
from lava_lite import fixed_point as fxp
from lava_lite.proc_lib.lif.process import LIF


@implements(proc=LIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyLifFloat(LoihiProcessModel):
    """Float LIF; ``bias_exp`` is not used in float (as in Lava).

    ``du``, ``dv`` and ``vth`` are spread to one value per neuron once and are read-only
    inside the model: a subclass that adapts them assigns a new array (``self.vth = ...``),
    as ``set()`` and RefPort writes do, rather than changing them in place."""

    a_in = InPortType(np.float64)
    s_out = OutPortType(np.float64)
    u = VarType(np.float64)
    v = VarType(np.float64)
    du = VarType(np.float64)
    dv = VarType(np.float64)
    vth = VarType(np.float64)
    bias_mant = VarType(np.float64)
    bias_exp = VarType(np.float64)

    _factors_of = None  # the (du, dv, vth) arrays the per-neuron factors were made from

    def run_spk(self) -> None:
        # In place, in the order u*(1-du) + a_in and v*(1-dv) + u + bias (as Lava computes).
        # Decays and threshold are spread to one value per neuron once (again only after
        # set() rebinds them): a same-shape operand is about twice as fast as a broadcast.
        made_from = self._factors_of
        if made_from is None or made_from[0] is not self.du or made_from[1] is not self.dv \
                or made_from[2] is not self.vth:
            self._spread_factors()
        u, v = self.u, self.v
        u *= self._keep_u
        u += self.a_in.recv()
        v *= self._keep_v
        v += u
        v += self.bias_mant
        spikes = v > self._vth
        np.putmask(v, spikes, 0)
        self.s_out.send(spikes, copy=False)

    def _spread_factors(self) -> None:
        self._factors_of = (self.du, self.dv, self.vth)
        for made_from in self._factors_of:  # an in-place change would go unseen: refuse it
            made_from.setflags(write=False)
        shape = self.u.shape
        self._keep_u = np.broadcast_to(1 - self.du, shape).copy()
        self._keep_v = np.broadcast_to(1 - self.dv, shape).copy()
        self._vth = np.broadcast_to(self.vth, shape).copy()


@implements(proc=LIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
class PyLifFixed(LoihiProcessModel):
    """Bit-accurate Loihi LIF (Lava ``PyLifModelBitAcc``): 24-bit u and v, 12-bit decays.

    Parameters are Loihi integers: ``du``/``dv`` in [0, 4095] (u decays by
    ``(4096 - (du + 1)) / 4096``, v by ``(4096 - dv) / 4096``), ``vth`` in [0, 2**17 - 1]
    (compared as ``vth << 6``), ``bias_mant`` 13-bit signed, ``bias_exp`` in [0, 7]. Every
    rule is in ``lava_lite.fixed_point``; ``float_to_fixed_lif`` converts float parameters.
    Spikes are sent as bool. With ``strict_overflow`` a wrap of u or a saturation of v
    raises (naming the neurons) and leaves the state as it was before the step.
    """

    a_in = InPortType(np.int32)
    s_out = OutPortType(np.bool_, precision=1)
    u = VarType(np.int32, precision=fxp.STATE_BITS)
    v = VarType(np.int32, precision=fxp.STATE_BITS)
    du = VarType(np.uint16, precision=fxp.DECAY_BITS)
    dv = VarType(np.uint16, precision=fxp.DECAY_BITS)
    vth = VarType(np.uint32, precision=fxp.VTH_BITS)
    bias_mant = VarType(np.int16, precision=fxp.BIAS_MANT_BITS)
    bias_exp = VarType(np.uint8, precision=fxp.BIAS_EXP_BITS)

    @classmethod
    def validate(cls, process_name: str, params: dict, var_inits: dict) -> None:
        """Refuse parameters that are not Loihi integers of the declared widths (the
        compiler checks the ranges too; this adds the conversion hint)."""
        for name, declared in cls.declared_types().items():
            if not isinstance(declared, VarType) or name not in var_inits:
                continue
            signed = np.issubdtype(declared.dtype, np.signedinteger)
            value = np.asarray(var_inits[name])
            if value.shape == (1,):
                value = value.reshape(())  # du, dv, vth: show "du = 0.1", not "du[0] = 0.1"
            try:
                fxp.check_range(name, value, declared.precision, signed=signed)
            except ValueError as exc:
                raise CompileError(
                    f"Process '{process_name}' (LIF, fixed_pt model {cls.__name__}): {exc}. "
                    f"A fixed-point LIF takes Loihi integer units; convert float parameters "
                    f"with lava_lite.fixed_point.float_to_fixed_lif") from None

    def run_spk(self) -> None:
        try:
            u, v, spikes = fxp.lif_step(self.u, self.v, self.a_in.recv(), self.du, self.dv,
                                        self.vth, self.bias_mant, self.bias_exp,
                                        strict=self.proc_params.get("strict_overflow", False))
        except fxp.FixedPointOverflowError as exc:
            where = ""
            if len(self.u.shape) > 1:
                where = " (as (row, col, ...) indices: " + ", ".join(
                    str(tuple(int(i) for i in np.unravel_index(k, self.u.shape)))
                    for k in exc.indices[:5]) + ")"
            raise OverflowError(f"strict_overflow: {exc}{where}; the state is left as it "
                                f"was before this step") from None
        self.u[...] = u
        self.v[...] = v
        self.s_out.send(spikes, copy=False)


@implements(proc=LIF, protocol=LoihiProtocol)
@requires(NeuroCore)
@tag("fixed_pt", "bit_accurate_loihi")
class ChipLif(DeviceProcessModel):
    """LIF on the (emulated) neuromorphic chip: one compartment per neuron, split over as many
    neurocores as the population needs; the arithmetic of PyLifFixed, bit for bit
    (``RunConfig(target="chip")``; see ``lava_lite.runtimes.chip``). Same types and the same
    parameter checks as PyLifFixed; ``strict_overflow`` is honoured by the chip."""

    chip_role = "lif"
    a_in = PyLifFixed.a_in
    s_out = PyLifFixed.s_out
    u = PyLifFixed.u
    v = PyLifFixed.v
    du = PyLifFixed.du
    dv = PyLifFixed.dv
    vth = PyLifFixed.vth
    bias_mant = PyLifFixed.bias_mant
    bias_exp = PyLifFixed.bias_exp
    validate = classmethod(PyLifFixed.validate.__func__)

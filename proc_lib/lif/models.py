"""How LIF runs: float CPU model, bit-accurate fixed-point (Loihi) CPU model, chip model.

The CPU models share one step (``AbstractPyLif.run_spk``, Lava's structure) made of three
parts that a variant overrides, calling ``super()`` for the standard behaviour:

- ``subthr_dynamics(activation_in)``: update ``u`` and ``v`` from this step's input, in place;
- ``spiking_activation()``: the neurons that spike, as a fresh bool array;
- ``reset_voltage(spikes)``: reset the neurons that spiked.

A variant adds its own Vars as ``VarType`` members and keeps the rest: see
``docs/extending.md`` (a LIF with a refractory period in a few lines).
"""
from __future__ import annotations

import numpy as np

from lava_lite import (CPU, CompileError, InPortType, LoihiProcessModel, LoihiProtocol,
                       NeuroCore, OutPortType, VarType, implements, requires, tag)
from lava_lite.model import DeviceProcessModel
from lava_lite import fixed_point as fxp
from lava_lite.proc_lib.lif.process import LIF


class AbstractPyLif(LoihiProcessModel):
    """The step shared by the CPU LIF models: receive, the three overridable parts, send.

    Subclasses declare the types and implement the parts; a variant of a LIF model overrides
    only the parts it changes."""

    def run_spk(self) -> None:
        self.subthr_dynamics(self.a_in.recv())
        spikes = self.spiking_activation()
        self.reset_voltage(spikes)
        self.s_out.send(spikes, copy=False)  # fresh each step: handed over without a copy

    def subthr_dynamics(self, activation_in: np.ndarray) -> None:
        """Update ``u`` and ``v`` in place from ``activation_in`` (this step's synaptic
        input, read-only), before the threshold test.

        Parameters
        ----------
        activation_in : numpy.ndarray
            What ``a_in`` received this step, in the model's dtype.
        """
        raise NotImplementedError(f"{type(self).__name__} must define subthr_dynamics()")

    def spiking_activation(self) -> np.ndarray:
        """The neurons that spike this step (a new bool array of ``v``'s shape)."""
        raise NotImplementedError(f"{type(self).__name__} must define spiking_activation()")

    def reset_voltage(self, spikes: np.ndarray) -> None:
        """Reset the state of the neurons that spiked (``v`` to 0; ``u`` is kept).

        Parameters
        ----------
        spikes : numpy.ndarray
            What ``spiking_activation`` returned this step (bool, ``v``'s shape).
        """
        raise NotImplementedError(f"{type(self).__name__} must define reset_voltage()")


class SpreadVarType(VarType):
    """Declared type of a float LIF parameter (``du``, ``dv``, ``vth``) that the model
    spreads to one value per neuron: assigning the Var (the runtime's ``set``, a RefPort
    write, a subclass adapting it) makes the array read-only, since an in-place change would
    go unseen, and has the per-neuron values made again before the next step. Reading it is
    slower than a plain attribute; the step reads only the per-neuron values.

    Parameters
    ----------
    dtype : numpy dtype
        As for ``VarType``.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.slot = f"_{name}_value"  # a plain attribute: the instance dict stays implicit

    def __get__(self, model, owner: type | None = None):
        if model is None:
            return self  # on the class: the declared type
        try:
            return getattr(model, self.slot)
        except AttributeError:
            raise AttributeError(f"{type(model).__name__} has no value for Var "
                                 f"'{self.name}' yet") from None

    def __set__(self, model, value: np.ndarray) -> None:
        value = np.asarray(value)
        value.setflags(write=False)
        setattr(model, self.slot, value)
        model.spread_is_stale = True


@implements(proc=LIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyLifFloat(AbstractPyLif):
    """Float LIF; ``bias_exp`` is not used in float (as in Lava).

    ``du``, ``dv`` and ``vth`` are spread to one value per neuron (``keep_u = 1 - du``,
    ``keep_v = 1 - dv``, ``vth_per_neuron``) before the first step and again after they are
    rebound; they are read-only inside the model: a subclass that adapts them assigns a new
    array (``self.vth = ...``), as ``set()`` and RefPort writes do."""

    a_in = InPortType(np.float64)
    s_out = OutPortType(np.float64)
    u = VarType(np.float64)
    v = VarType(np.float64)
    du = SpreadVarType(np.float64)
    dv = SpreadVarType(np.float64)
    vth = SpreadVarType(np.float64)
    bias_mant = VarType(np.float64)
    bias_exp = VarType(np.float64)

    spread_is_stale = True  # du, dv or vth were rebound since keep_u, keep_v, vth_per_neuron

    def subthr_dynamics(self, activation_in: np.ndarray) -> None:
        """``u = u * (1 - du) + a_in``, then ``v = v * (1 - dv) + u + bias_mant``, in place
        and in that order (as Lava computes). First, if ``spread_is_stale``, the per-neuron
        parameters are made again (``spread_parameters``): an override that does not call
        this one does that itself."""
        if self.spread_is_stale:
            self.spread_parameters()
        u, v = self.u, self.v
        u *= self.keep_u
        u += activation_in
        v *= self.keep_v
        v += u
        v += self.bias_mant

    def spiking_activation(self) -> np.ndarray:
        """``v > vth``, strictly."""
        return self.v > self.vth_per_neuron

    def reset_voltage(self, spikes: np.ndarray) -> None:
        """``v = 0`` where the neuron spiked."""
        np.putmask(self.v, spikes, 0)

    def spread_parameters(self) -> None:
        """Make ``keep_u``, ``keep_v`` and ``vth_per_neuron`` (one value per neuron, of
        ``u``'s shape) from ``du``, ``dv`` and ``vth``: a same-shape operand is about twice as
        fast as a broadcast one."""
        shape = self.u.shape
        self.keep_u = np.broadcast_to(1 - self.du, shape).copy()
        self.keep_v = np.broadcast_to(1 - self.dv, shape).copy()
        self.vth_per_neuron = np.broadcast_to(self.vth, shape).copy()
        self.spread_is_stale = False


class LifFixedTypes:
    """What the fixed-point LIF models (CPU and chip) share: Loihi integer types of the
    declared widths (``lava_lite.fixed_point``) and the compile-time check of the values.

    Parameters are Loihi integers: ``du``/``dv`` in [0, 4095] (u decays by
    ``(4096 - (du + 1)) / 4096``, v by ``(4096 - dv) / 4096``), ``vth`` in [0, 2**17 - 1]
    (compared as ``vth << 6``), ``bias_mant`` 13-bit signed, ``bias_exp`` in [0, 7]; u and v
    are 24-bit. Spikes are bool."""

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
        """Refuse values of the Loihi registers (the Vars declared with a ``precision``) that
        are not integers of the declared widths, with a hint to convert float parameters (the
        compiler checks every Var against its declared type too).

        Parameters
        ----------
        process_name : str
            The Process the error names.
        params : dict
            Its ``proc_params`` (not used here).
        var_inits : dict
            Initial value of each Var, by name, as given.

        Raises
        ------
        CompileError
            Naming the Process, the model, the Var, its value and the allowed range.
        """
        for name, declared in cls.declared_types().items():
            if not isinstance(declared, VarType) or declared.precision is None \
                    or name not in var_inits:
                continue  # a variant's own Var: the compiler checks it against its dtype
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


@implements(proc=LIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
class PyLifFixed(LifFixedTypes, AbstractPyLif):
    """Bit-accurate Loihi LIF (Lava ``PyLifModelBitAcc``): 24-bit u and v, 12-bit decays.

    Types and parameters: see ``LifFixedTypes``. Every rule is in ``lava_lite.fixed_point``;
    ``float_to_fixed_lif`` converts float parameters. With ``strict_overflow`` a wrap of u
    or a saturation of v raises (naming the neurons) and leaves the state as it was before
    the step.
    """

    def subthr_dynamics(self, activation_in: np.ndarray) -> None:
        """``fixed_point.lif_subthreshold``: u decays, takes ``a_in << 6`` and wraps at 24
        bits; v decays, takes u and the bias and saturates (strict: raises instead, with the
        state unchanged)."""
        try:
            u, v = fxp.lif_subthreshold(self.u, self.v, activation_in, self.du, self.dv,
                                        self.bias_mant, self.bias_exp,
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

    def spiking_activation(self) -> np.ndarray:
        """``v > vth << 6``, strictly (``fixed_point.effective_threshold``)."""
        return self.v > fxp.effective_threshold(self.vth)

    def reset_voltage(self, spikes: np.ndarray) -> None:
        """``v = 0`` where the neuron spiked."""
        np.putmask(self.v, spikes, 0)


@implements(proc=LIF, protocol=LoihiProtocol)
@requires(NeuroCore)
@tag("fixed_pt", "bit_accurate_loihi")
class ChipLif(LifFixedTypes, DeviceProcessModel):
    """LIF on the (emulated) neuromorphic chip: one compartment per neuron, split over as many
    neurocores as the population needs; the arithmetic of PyLifFixed, bit for bit
    (``RunConfig(target="chip")``; see ``lava_lite.runtimes.chip``). Same types and the same
    parameter checks as PyLifFixed; ``strict_overflow`` is honoured by the chip.

    The chip maps this exact class (``lava_lite.runtimes.chip.mapping``): a subclass runs on
    the chip only once registered there with the dynamics it has."""

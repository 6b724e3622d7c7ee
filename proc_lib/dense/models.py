"""How Dense runs: float CPU model, bit-accurate fixed-point (Loihi) CPU model, chip model.

The CPU models of Dense and Sparse share one step (``AbstractPySynapse.run_spk``): the
activation ``weighted_sum(s_in)`` of this step's input is sent on the delayed ``a_out``. A
variant (another synaptic rule, a plastic weight) overrides ``weighted_sum``.
"""
from __future__ import annotations

import numpy as np

from lava_lite import (CPU, CompileError, InPortType, LoihiProcessModel, LoihiProtocol,
                       NeuroCore, OutPortType, VarType, implements, requires, tag)
from lava_lite.model import DeviceProcessModel
from lava_lite import fixed_point as fxp
from lava_lite.proc_lib.dense.process import Dense


class WeightCost:
    """Placement cost of a synapse model: one operation per stored weight per step."""

    @classmethod
    def step_cost(cls, var_sizes: dict[str, int], port_sizes: dict[str, int]) -> float:
        """One operation per stored weight and per port element.

        Parameters
        ----------
        var_sizes, port_sizes : dict
            Elements of each Var and port of the Process, by name.
        """
        return float(var_sizes["weights"] + sum(port_sizes.values()))


class AbstractPySynapse(WeightCost, LoihiProcessModel):
    """The step shared by the CPU Dense and Sparse models: receive ``s_in``, send
    ``weighted_sum`` of it on ``a_out`` (delayed: it arrives one step later)."""

    def run_spk(self) -> None:
        self.a_out.send(self.weighted_sum(self.s_in.recv()), copy=False)

    def weighted_sum(self, s_in: np.ndarray) -> np.ndarray:
        """The activation this step's input makes, as a fresh array of ``a_out``'s shape (it
        is handed over without a copy).

        Parameters
        ----------
        s_in : numpy.ndarray
            What ``s_in`` received this step (read-only): spikes (``num_message_bits`` 0:
            any non-zero value counts as one) or graded payloads.
        """
        raise NotImplementedError(f"{type(self).__name__} must define weighted_sum()")


@implements(proc=Dense, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PyDenseFloat(AbstractPySynapse):
    """Float Dense: ``weights @ s_in``, binary input counting every non-zero value as 1."""

    s_in = InPortType(np.float64)
    a_out = OutPortType(np.float64, delayed=True)
    weights = VarType(np.float64)

    def weighted_sum(self, s_in: np.ndarray) -> np.ndarray:
        """``weights @ s_in`` (binary: of ``s_in != 0``)."""
        if self.proc_params["num_message_bits"] == 0:
            s_in = s_in.astype(bool)  # a spike is any nonzero value (a cast: faster than != 0)
        # np.dot goes straight to BLAS gemv; np.matmul costs ~0.3 us more per call at n=100.
        return np.dot(self.weights, s_in)


def validate_fixed_synapse(process_name: str, kind: str, model: str, params: dict,
                           weights: np.ndarray) -> None:
    """Compile-time checks shared by the fixed-point Dense and Sparse models: integer
    weights (that fit 8 bits if ``clip_weights`` is False), ``weight_exp`` in [-8, 7] and
    ``num_weight_bits`` in [1, 8]. Raises CompileError naming the Process."""
    where = f"Process '{process_name}' ({kind}, fixed_pt model {model})"
    for key, lo, hi in (("weight_exp", fxp.WEIGHT_EXP_MIN, fxp.WEIGHT_EXP_MAX),
                        ("num_weight_bits", fxp.NUM_WEIGHT_BITS_MIN, fxp.NUM_WEIGHT_BITS_MAX)):
        value = params.get(key)
        if value is not None and not lo <= value <= hi:
            raise CompileError(f"{where}: {key} = {value} is out of range: allowed "
                               f"[{lo}, {hi}]")
    weights = np.asarray(weights)
    if np.issubdtype(weights.dtype, np.floating) and weights.size:
        bad = ~np.isfinite(weights) | (weights != np.round(weights))
        if np.any(bad):
            index = np.unravel_index(int(np.flatnonzero(bad)[0]), weights.shape)
            lo, hi = fxp.weight_clip_range(fxp.SignMode.MIXED)
            raise CompileError(
                f"{where}: weights[{', '.join(map(str, index))}] = {weights[index].item()!r} "
                f"is not an integer; fixed-point weights are {fxp.WEIGHT_BITS}-bit integer "
                f"mantissas in [{lo}, {hi}] scaled by 2**weight_exp. Convert float weights "
                f"with lava_lite.fixed_point.float_to_fixed_dense")
    if not params.get("clip_weights", True):
        try:
            fxp.check_weights_fit(weights)
        except ValueError as exc:
            raise CompileError(f"{where}: {exc}, and clip_weights=False asks not to clip "
                               f"them") from None


class FixedSynapse(WeightCost):
    """What the fixed-point Dense and Sparse models share: int32 ports and weights, and the
    weights quantized (sign mode, clip to 8 bits, keep ``num_weight_bits``) once, again only
    when the ``weights`` Var is rebound (the runtime's ``set`` does that). The Var keeps the
    values as given."""

    s_in = InPortType(np.int32)
    a_out = OutPortType(np.int32, delayed=True)
    weights = VarType(np.int32)
    _quantized_from: np.ndarray | None = None
    _quantized: np.ndarray | None = None

    def quantized(self, weights: np.ndarray) -> np.ndarray:
        """``weights`` quantized as the chip and Lava do (``fixed_point.quantize_weights``),
        as int64, made again only when a new array is passed.

        Parameters
        ----------
        weights : numpy.ndarray
            The ``weights`` Var (values as given, integers).
        """
        if self._quantized_from is not weights:
            params = self.proc_params
            if not params.get("clip_weights", True):
                fxp.check_weights_fit(weights)  # a set() between runs; raises ValueError
            self._quantized = fxp.quantize_weights(
                weights, params["num_weight_bits"]).astype(np.int64)
            self._quantized_from = weights
        return self._quantized


@implements(proc=Dense, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
class PyDenseFixed(FixedSynapse, AbstractPySynapse):
    """Bit-accurate Loihi Dense (Lava ``PyDenseModelBitAcc``).

    Weights are quantized once (and again after each ``weights.set``): sign mode, clip to 8
    bits, keep ``num_weight_bits`` (``fixed_point.quantize_weights``); the ``weights`` Var
    keeps the values as given. Each step sends ``(W @ s) << weight_exp`` (arithmetic right
    shift for a negative exponent) of this step's input; the runtime delivers it one step
    later.
    """

    @classmethod
    def validate(cls, process_name: str, params: dict, var_inits: dict) -> None:
        validate_fixed_synapse(process_name, "Dense", cls.__name__, params,
                               var_inits["weights"])

    def weighted_sum(self, s_in: np.ndarray) -> np.ndarray:
        """``fixed_point.dense_step``: the quantized weights times the input, shifted by
        ``weight_exp``."""
        params = self.proc_params
        return fxp.dense_step(self.quantized(self.weights), s_in, params["weight_exp"],
                              graded=params["num_message_bits"] > 0)


def validate_chip_synapse(process_name: str, kind: str, model: str, params: dict) -> None:
    """What the chip's synapses cannot carry: graded payloads wider than
    ``fixed_point.GRADED_SPIKE_BITS``."""
    bits = params.get("num_message_bits", 0)
    if bits > fxp.GRADED_SPIKE_BITS:
        raise CompileError(f"Process '{process_name}' ({kind}, chip model {model}): "
                           f"num_message_bits = {bits} is out of range for the chip: its "
                           f"graded spikes carry at most {fxp.GRADED_SPIKE_BITS} bits; run it "
                           f"on the CPU")


@implements(proc=Dense, protocol=LoihiProtocol)
@requires(NeuroCore)
@tag("fixed_pt", "bit_accurate_loihi")
class ChipDense(WeightCost, DeviceProcessModel):
    """Dense on the (emulated) neuromorphic chip: a synapse table of 8-bit mantissas quantized
    exactly as PyDenseFixed does (``weight_exp``, ``num_weight_bits``), stored on the cores of
    the neurons it feeds (``RunConfig(target="chip")``; see ``lava_lite.runtimes.chip``).
    Same types and checks as PyDenseFixed, and graded input of at most 24 bits."""

    s_in = PyDenseFixed.s_in
    a_out = PyDenseFixed.a_out
    weights = PyDenseFixed.weights

    @classmethod
    def validate(cls, process_name: str, params: dict, var_inits: dict) -> None:
        validate_fixed_synapse(process_name, "Dense", cls.__name__, params,
                               var_inits["weights"])
        validate_chip_synapse(process_name, "Dense", cls.__name__, params)

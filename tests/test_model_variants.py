"""Library models with overridable steps, and the chip mapping models by their exact class.

- A LIF with a refractory period, written as a Process subclass and a mixin over the float
  and fixed-point LIF models' steps (the example of docs/extending.md), follows a
  hand-computed trace: during the period v is held and the neuron does not spike.
- Under RunConfig(target="chip") it runs its CPU fixed_pt model (it has no chip model).
- A chip model subclassing ChipLif is refused at compile time, naming the Process and the
  reason, until it is registered with the chip mapping; registered, it runs (if the chip can
  hold its Vars: an extra Var, or one declared wider than the chip's register, is refused).
- The Dense/Sparse step is overridable too (``weighted_sum``).
"""
from __future__ import annotations

import numpy as np
import pytest

from lava_lite import (CPU, CompileError, NeuroCore, RunConfig, RunSteps, Var, VarType,
                       implements, requires, tag)
from lava_lite.proc_lib import LIF, Dense, Monitor, SourceRingBuffer, Sparse
from lava_lite.proc_lib.dense.models import PyDenseFloat
from lava_lite.proc_lib.lif.models import ChipLif, PyLifFixed, PyLifFloat
from lava_lite.proc_lib.sparse.models import PySparseFixed
from lava_lite.runtimes.chip.mapping import LIF as CHIP_LIF
from lava_lite.runtimes.chip.mapping import register_chip_model, unregister_chip_model


# -- the example: 27 lines ------------------------------------------------------------------
class RefractoryLIF(LIF):
    """A LIF whose neurons, after a spike, hold v and stay silent for refractory_period steps."""

    def __init__(self, *, refractory_period: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.proc_params["refractory_period"] = refractory_period
        self.counter = Var(self.u.shape, init=0)  # steps left in the refractory period


class Refractory:  # the refractory period, for any LIF model built on the three steps
    counter = VarType(np.int32)

    def subthr_dynamics(self, activation_in):
        self.held = self.counter > 0
        v_held = self.v[self.held]
        super().subthr_dynamics(activation_in)  # u integrates on; v is put back where held
        self.v[self.held] = v_held
        self.counter[self.held] -= 1

    def spiking_activation(self):
        return super().spiking_activation() & ~self.held

    def reset_voltage(self, spikes):
        super().reset_voltage(spikes)
        self.counter[spikes] = self.proc_params["refractory_period"]


@implements(proc=RefractoryLIF)
@tag("floating_pt")
class PyRefractoryLifFloat(Refractory, PyLifFloat):
    """Float refractory LIF."""


@implements(proc=RefractoryLIF)
@tag("fixed_pt")
class PyRefractoryLifFixed(Refractory, PyLifFixed):
    """Bit-accurate refractory LIF."""
# -------------------------------------------------------------------------------------------


STEPS = 12
# Two neurons, no input, no decay (du = dv = 0), bias 0.4 and 0.3, vth 1, period 2. Without
# refractoriness neuron 0 spikes at steps 3, 6, 9, 12 and neuron 1 at 4, 8, 12. With it, after
# a spike at step t the neuron is held (v = 0, no spike) at t+1 and t+2 and integrates again
# from t+3: neuron 0 spikes at 3, 8 and neuron 1 at 4, 10.
V_TRACE = np.array([[0.4, 0.8, 0.0, 0.0, 0.0, 0.4, 0.8, 0.0, 0.0, 0.0, 0.4, 0.8],
                    [0.3, 0.6, 0.9, 0.0, 0.0, 0.0, 0.3, 0.6, 0.9, 0.0, 0.0, 0.0]])
SPIKES = np.zeros((2, STEPS), bool)
SPIKES[0, [2, 7]] = SPIKES[1, [3, 9]] = True
COUNTER = [[0, 0, 2, 1, 0, 0, 0, 2, 1, 0, 0, 0],
           [0, 0, 0, 2, 1, 0, 0, 0, 0, 2, 1, 0]]
# In fixed point the same trace in integers: bias 400 and 300 state units, vth 15 (compared
# as 15 << 6 = 960); dv = 0 keeps v exactly.
FIXED = dict(bias_mant=np.array([400, 300]), vth=15, du=0, dv=0)
FLOAT = dict(bias_mant=np.array([0.4, 0.3]), vth=1.0, du=0.0, dv=0.0)


def refractory_trace(params: dict, run_cfg: RunConfig, **kwargs):
    """(plan, v, s_out, counter) of a refractory LIF run for STEPS steps, recorded each step."""
    lif = RefractoryLIF(shape=(2,), refractory_period=2, name="rlif", **params, **kwargs)
    monitor = Monitor()
    for target in (lif.v, lif.s_out, lif.counter):
        monitor.probe(target, num_steps=STEPS)
    with lif:
        lif.run(RunSteps(STEPS), run_cfg)
        data = monitor.get_data()["rlif"]
        return lif.compile(), data["v"].T, data["s_out"].T, data["counter"].T


@pytest.mark.parametrize("workers", [0, 1])
def test_float_refractory_lif_holds_v_and_does_not_spike(workers):
    plan, v, spikes, counter = refractory_trace(
        FLOAT, RunConfig(select_tag="floating_pt", workers=workers))
    assert plan.process(0).model.endswith(":PyRefractoryLifFloat")
    np.testing.assert_allclose(v, V_TRACE, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(spikes, SPIKES)
    np.testing.assert_array_equal(counter, COUNTER)


def test_fixed_refractory_lif_holds_v_and_does_not_spike():
    # Its extra Var ('counter', a VarType without a precision) once made PyLifFixed.validate
    # crash with a raw TypeError naming no Process.
    plan, v, spikes, counter = refractory_trace(FIXED, RunConfig(select_tag="fixed_pt",
                                                                 workers=0))
    assert plan.process(0).model.endswith(":PyRefractoryLifFixed")
    assert v.dtype == np.int32
    np.testing.assert_array_equal(v, np.round(V_TRACE * 1000).astype(np.int32))
    np.testing.assert_array_equal(spikes, SPIKES)
    np.testing.assert_array_equal(counter, COUNTER)


def test_a_variant_keeps_the_parameter_checks_of_its_base_model():
    lif = RefractoryLIF(shape=(2,), du=5000, name="rlif")
    with pytest.raises(CompileError) as info:
        lif.compile(RunConfig(select_tag="fixed_pt"))
    for part in ("'rlif'", "PyRefractoryLifFixed", "du = 5000", "[0, 4095]",
                 "float_to_fixed_lif"):
        assert part in str(info.value), (part, str(info.value))
    lif = RefractoryLIF(shape=(2,), name="rlif2")
    lif.counter.set([0.5, 0])
    with pytest.raises(CompileError, match=r"(?s)'rlif2'.*counter"):
        lif.compile(RunConfig(select_tag="fixed_pt"))


def test_on_the_chip_target_the_refractory_lif_runs_its_cpu_fixed_point_model():
    plan, v, spikes, _ = refractory_trace(FIXED, RunConfig(target="chip", workers=0))
    (process,) = plan.processes
    assert process.model.endswith(":PyRefractoryLifFixed")
    assert "has no model for the chip" in process.model_choice, process.model_choice
    assert "PyRefractoryLifFixed" in plan.summary()
    np.testing.assert_array_equal(v, np.round(V_TRACE * 1000).astype(np.int32))
    np.testing.assert_array_equal(spikes, SPIKES)


# -- chip models are mapped by their exact class ---------------------------------------------
def _chip_refused(process) -> str:
    with pytest.raises(CompileError) as info:
        process.compile(RunConfig(target="chip"))
    return str(info.value)


def test_a_chip_lif_subclass_is_refused_until_registered():
    class ChipRefractoryLIF(RefractoryLIF):
        """Only a chip model, which the chip cannot run."""

    @implements(proc=ChipRefractoryLIF)
    @requires(NeuroCore)
    @tag("fixed_pt")
    class ChipRefractoryLif(ChipLif):
        counter = VarType(np.int32)

    lif = ChipRefractoryLIF(shape=(2,), **FIXED, name="rlif")
    message = _chip_refused(lif)
    for part in ("'rlif'", "no mapping for model ChipRefractoryLif", "subclasses ChipLif",
                 "register_chip_model", "target 'chip'"):
        assert part in message, (part, message)
    register_chip_model(ChipRefractoryLif, CHIP_LIF)
    try:  # registered: the chip maps it as LIF compartments, which have no such Var
        message = _chip_refused(lif)
    finally:
        unregister_chip_model(ChipRefractoryLif)
    for part in ("'rlif'", "ChipRefractoryLif", "cannot hold Var 'counter'",
                 "LIF compartments hold only u, v, du, dv, vth, bias_mant, bias_exp"):
        assert part in message, (part, message)


def test_a_registered_chip_lif_subclass_runs_on_the_chip():
    class TracedLIF(LIF):
        """A LIF whose chip model is a subclass of ChipLif (same dynamics)."""

    @implements(proc=TracedLIF)
    @requires(NeuroCore)
    @tag("fixed_pt")
    class ChipTracedLif(ChipLif):
        """ChipLif under another name."""

    def run(name):
        lif = TracedLIF(shape=(2,), **FIXED, name=name)
        monitor = Monitor()
        monitor.probe(lif.v, num_steps=6)
        with lif:
            lif.run(RunSteps(6), RunConfig(target="chip", workers=0))
            return lif.compile(), monitor.get_data()[name]["v"].T

    assert "no mapping for model ChipTracedLif" in _chip_refused(TracedLIF(shape=(2,)))
    register_chip_model(ChipTracedLif, CHIP_LIF)
    try:
        plan, v = run("traced")
    finally:
        unregister_chip_model(ChipTracedLif)
    assert plan.process(0).model.endswith(".ChipTracedLif")
    # plain LIF dynamics: neuron 0 spikes at 3 and 6, neuron 1 at 4
    np.testing.assert_array_equal(v, [[400, 800, 0, 400, 800, 0], [300, 600, 900, 0, 300, 600]])
    assert "no mapping for model ChipTracedLif" in _chip_refused(TracedLIF(shape=(2,)))


def test_a_registered_chip_model_declaring_a_var_wider_than_the_chip_holds_is_refused():
    class WideLIF(LIF):
        """A LIF whose chip model declares v as float."""

    @implements(proc=WideLIF)
    @requires(NeuroCore)
    @tag("fixed_pt")
    class ChipWideLif(ChipLif):
        v = VarType(np.float64)

    register_chip_model(ChipWideLif, CHIP_LIF)
    try:
        message = _chip_refused(WideLIF(shape=(2,), name="wide"))
    finally:
        unregister_chip_model(ChipWideLif)
    for part in ("'wide'", "Var 'v' is declared float64",
                 "holds it as a 24-bit signed integer"):
        assert part in message, (part, message)


def test_register_chip_model_refuses_what_is_not_a_model_or_a_kind():
    with pytest.raises(TypeError, match="ChipKind"):
        register_chip_model(ChipLif, "lif")
    with pytest.raises(TypeError, match="ProcessModel class"):
        register_chip_model(object, CHIP_LIF)


# -- Dense and Sparse: the weighted sum is the step to override ------------------------------
class DoubledDense(Dense):
    """A Dense whose synapses deliver twice their weight."""


@implements(proc=DoubledDense)
@requires(CPU)
@tag("floating_pt")
class PyDoubledDense(PyDenseFloat):
    def weighted_sum(self, s_in):
        return 2 * super().weighted_sum(s_in)


class HalvedSparse(Sparse):
    """A Sparse whose synapses deliver half their (fixed-point) activation, floored."""


@implements(proc=HalvedSparse)
@requires(CPU)
@tag("fixed_pt")
class PyHalvedSparse(PySparseFixed):
    def weighted_sum(self, s_in):
        return super().weighted_sum(s_in) >> 1


@pytest.mark.parametrize("synapse_cls,tag_name,expected", [
    (DoubledDense, "floating_pt", [[0, 6, 6, 6], [0, 10, 10, 10]]),
    (HalvedSparse, "fixed_pt", [[0, 1, 1, 1], [0, 2, 2, 2]]),
])
def test_a_synapse_variant_overrides_only_the_weighted_sum(synapse_cls, tag_name, expected):
    source = SourceRingBuffer(data=np.ones((2, 1), int), name="source")
    synapse = synapse_cls(weights=np.array([[1, 2], [2, 3]]), name="synapse")
    source.s_out.connect(synapse.s_in)
    monitor = Monitor()
    monitor.probe(synapse.a_out, num_steps=4)
    with source:
        source.run(RunSteps(4), RunConfig(select_tag=tag_name, workers=0))
        got = monitor.get_data()["synapse"]["a_out"].T
    np.testing.assert_array_equal(got, expected)  # delivered a step later: step 1 sends zeros

"""Tests that kill the mutants the rest of the suite let live (issue 12): each pins one rule
that a small change to the code broke without any test noticing.

- a LIF spikes only when v is strictly above its threshold (float and fixed point);
- ``send()`` refuses data of another shape than its port's, broadcastable or not;
- a worker drops data messages for steps it has passed or that are too far ahead (the
  sink's worker reports each on stderr);
- a second ``run`` with another RunConfig is refused, one with an equal RunConfig runs;
- an asynchronous model's delayed OutPort delivers its k-th send at step k + 1;
- inhibitory weights are quantized on their magnitude (toward zero), as documented.

Each was seen to fail with its mutant applied by hand: the float and the fixed LIF's
``v > vth`` as ``>=`` (``proc_lib/lif/models.py``), the shape check of
``RuntimeOutPort.send`` removed, the worker's step window (``runtimes/worker.py``,
``lowest <= step <= current + MAX_STEPS_AHEAD``) without its lower or its upper bound,
``Session.check_same_config`` accepting any RunConfig, ``AsyncOutPort.send`` delivering at
step k, and ``fixed_point.truncate_weights`` flooring inhibitory weights like mixed ones.
"""
import re
import time

import numpy as np
import pytest
import zmq
from hypothesis import given, settings
from hypothesis import strategies as st

from lava_lite import (AsyncProcessModel, LoihiProcessModel, OutPort, OutPortType, Process,
                       ProcessModelError, RunConfig, RunContinuous, RunStateError, RunSteps,
                       Var, VarType, implements)
from lava_lite import fixed_point as fxp
from lava_lite.proc_lib import LIF, Dense, Monitor, SinkRingBuffer, SourceRingBuffer
from lava_lite.runtimes import wire
from lava_lite.runtimes.worker import MAX_STEPS_AHEAD
from support import Ramp


# -- the threshold is strict ---------------------------------------------------------------------
@pytest.mark.placements("in_process")
@pytest.mark.parametrize("select_tag,inputs,vth", [
    # float, du = dv = 1: v(t) is this step's input; exactly 1.0 is not above vth = 1.0
    ("floating_pt", [1.0, 1.5, 0.0, 1.0, 1.0000001], 1.0),
    # fixed, du = 4095 (u = a << 6 each step), dv = 1 (v decays to 0 from below 4096):
    # v(t) = 64 * a; a = 1 gives v = 64 = vth << 6, not above it
    ("fixed_pt", [1, 2, 0, 1, 2], 1),
])
def test_a_lif_at_exactly_its_threshold_does_not_spike(placement, select_tag, inputs, vth):
    du, dv = (1.0, 1.0) if select_tag == "floating_pt" else (4095, 1)
    source = SourceRingBuffer(data=np.array([inputs]), name="source")
    lif = LIF(shape=(1,), du=du, dv=dv, vth=vth, name="lif")
    source.s_out.connect(lif.a_in)
    monitor = Monitor()
    monitor.probe(lif.s_out, len(inputs))
    with source:
        source.run(RunSteps(len(inputs)), placement.run_cfg(select_tag=select_tag))
        spikes = monitor.get_data()["lif"]["s_out"][:, 0]
    np.testing.assert_array_equal(spikes.astype(bool), [False, True, False, False, True])


# -- send() checks the shape ---------------------------------------------------------------------
class Misfit(Process):
    """Its OutPort has shape (3,); the model sends an array of shape ``sent``."""

    def __init__(self, *, sent, name=None):
        super().__init__(name=name)
        self.out = OutPort((3,))
        self.proc_params["sent"] = sent


@implements(proc=Misfit)
class MisfitModel(LoihiProcessModel):
    out = OutPortType(np.float64)

    def run_spk(self):
        self.out.send(np.ones(self.proc_params["sent"]))


@pytest.mark.placements("in_process", "per_process")
@pytest.mark.parametrize("sent", [(2,), (1,), (3, 1), ()])  # some would broadcast
def test_send_refuses_data_of_another_shape(placement, sent):
    misfit = Misfit(sent=sent, name="misfit")
    sink = SinkRingBuffer(shape=(3,), buffer=2, name="sink")
    misfit.out.connect(sink.a_in)
    with misfit:
        with pytest.raises(ProcessModelError) as info:
            misfit.run(RunSteps(2), placement.run_cfg(timeout=5))
    error = info.value
    assert (error.process_name, error.phase, error.time_step) == ("misfit", "run_spk", 1)
    assert f"misfit.out: sent data of shape {sent}, but the port's shape is (3,)" in str(error)


# -- a worker refuses steps no sender could be at ------------------------------------------------
@pytest.mark.placements("per_process")
def test_forged_stale_and_far_ahead_steps_are_dropped(placement, capfd):
    ramp = Ramp(shape=(3,), name="ramp")
    sink = SinkRingBuffer(shape=(3,), buffer=60, name="sink")
    ramp.out.connect(sink.a_in)
    cfg = placement.run_cfg()
    context = zmq.Context()
    forger = context.socket(zmq.PUSH)
    forger.setsockopt(zmq.LINGER, 0)
    try:
        with ramp:
            ramp.run(RunSteps(20), cfg)
            runtime = ramp._session.runtime
            worker_of = {p.name: p.worker for p in runtime.plan.processes}
            ids = {p.name: p.id for p in runtime.plan.processes}
            (channel,) = [c.id for c in runtime.plan.channels
                          if (c.src, c.dst) == (ids["ramp"], ids["sink"])]
            forger.connect(runtime.data_endpoints[(worker_of["sink"], worker_of["ramp"])])
            # Step 1 is passed, whenever the sink's worker reads it; step `far` is beyond what
            # the high-water marks let a sender run ahead, however far this run gets.
            far = 1000 * MAX_STEPS_AHEAD
            for step in (1, far):
                forger.send_multipart(wire.encode_data(channel, step, np.full(3, -999.0)))
            time.sleep(0.3)
            ramp.run(RunContinuous(), cfg)  # the sink's worker reads the forged messages
            dropped, deadline = "", time.monotonic() + 10
            while len(re.findall(r"dropped a data message for step \d+", dropped)) < 2:
                assert time.monotonic() < deadline, dropped
                time.sleep(0.05)
                dropped += capfd.readouterr().err
            ramp.pause()
            assert ramp.current_step < far - MAX_STEPS_AHEAD  # so `far` was out of reach
            assert "dropped a data message for step 1 at step" in dropped
            assert f"dropped a data message for step {far} at step" in dropped
            ramp.run(RunSteps(1), cfg)  # and the graph runs on
    finally:
        forger.close(linger=0)
        context.term()


# -- one RunConfig per graph ---------------------------------------------------------------------
@pytest.mark.placements("in_process", "one_worker")
@pytest.mark.parametrize("change", [dict(select_tag="fixed_pt"), dict(workers=2), dict(seed=9),
                                    dict(timeout=30.0)])
def test_a_second_run_with_another_run_config_is_refused(placement, change):
    ramp = Ramp(name="ramp")
    sink = SinkRingBuffer(shape=(3,), buffer=6, name="sink")
    ramp.out.connect(sink.a_in)
    options = dict(select_tag="floating_pt", seed=3)
    with ramp:
        ramp.run(RunSteps(2), placement.run_cfg(**options))
        ramp.run(RunSteps(2), placement.run_cfg(**options))  # equal, not the same object
        other = {"workers": placement.workers, **options, **change}
        with pytest.raises(RunStateError, match="already compiled with another RunConfig"):
            ramp.run(RunSteps(2), RunConfig(**other))
        assert ramp.current_step == 4  # nothing ran
        ramp.run(RunSteps(2))  # without a RunConfig: the graph's own
        np.testing.assert_array_equal(sink.data.get()[0], np.arange(1, 7))


# -- an asynchronous delayed port ----------------------------------------------------------------
class DelayedProducer(Process):
    """Asynchronous; sends k * 10 as its k-th value on a delayed port."""

    def __init__(self, name=None):
        super().__init__(name=name)
        self.out = OutPort((2,))
        self.sent = Var((1,), init=0)


@implements(proc=DelayedProducer)
class DelayedProducerModel(AsyncProcessModel):
    out = OutPortType(np.float64, delayed=True)
    sent = VarType(np.int64)

    def run_async(self):
        for _ in range(self.num_steps):
            if self.check_for_stop_cmd():
                return
            self.sent += 1
            self.out.send(np.full(2, 10.0 * self.sent[0]))


@pytest.mark.placements("one_worker", "per_process")
def test_an_async_delayed_port_delivers_its_kth_send_at_step_k_plus_1(placement):
    producer = DelayedProducer(name="producer")
    sink = SinkRingBuffer(shape=(2,), buffer=8, name="sink")
    producer.out.connect(sink.a_in)
    with producer:
        producer.run(RunSteps(3), placement.run_cfg())
        producer.run(RunSteps(5), placement.run_cfg())
        np.testing.assert_array_equal(sink.data.get()[0], 10.0 * np.arange(0, 8))


# -- inhibitory weights: truncated on their magnitude --------------------------------------------
def documented_inhibitory(w: int, num_weight_bits: int) -> int:
    """reference/library/README.md section 2.2, for a matrix with max(W) <= 0: clip to
    [-255, 0], then with k = 8 - num_weight_bits ``W <- (W >> k) << k`` applied to -W."""
    k = 8 - num_weight_bits
    magnitude = min(-w, 255)
    return -((magnitude >> k) << k)


inhibitory_matrices = st.integers(1, 8).flatmap(lambda n_in: st.lists(
    st.lists(st.integers(-400, 0), min_size=n_in, max_size=n_in), min_size=1, max_size=5))


@settings(max_examples=200, deadline=None)
@given(inhibitory_matrices, st.integers(1, 8))
def test_inhibitory_weights_quantize_toward_zero_as_documented(weights, num_weight_bits):
    w = np.array(weights)
    assert fxp.sign_mode(w) is (fxp.SignMode.INHIBITORY if w.min() < 0 else
                                fxp.SignMode.EXCITATORY)  # all zero: excitatory
    got = fxp.quantize_weights(w, num_weight_bits)
    step = 1 << (8 - num_weight_bits)
    assert got.tolist() == [[documented_inhibitory(x, num_weight_bits) for x in row]
                            for row in weights]
    # the same rule as properties: never positive, a multiple of the step, rounded toward
    # zero by less than one step
    clipped = np.maximum(w, -255)
    assert np.all(got <= 0) and np.all(got % step == 0)
    assert np.all((got >= clipped) & (got - clipped < step))


@settings(max_examples=15, deadline=None)
@given(inhibitory_matrices.filter(lambda m: min(map(min, m)) < 0), st.integers(1, 8))
def test_a_fixed_point_dense_uses_inhibitory_weights_as_documented(weights, num_weight_bits):
    w = np.array(weights)
    source = SourceRingBuffer(data=np.ones((w.shape[1], 2), np.int32), name="source")
    dense = Dense(weights=w, num_weight_bits=num_weight_bits, name="dense")
    sink = SinkRingBuffer(shape=(w.shape[0],), buffer=2, name="sink")
    source.s_out.connect(dense.s_in)
    dense.a_out.connect(sink.a_in)
    with source:
        source.run(RunSteps(2), RunConfig(select_tag="fixed_pt", workers=0))
        got = sink.data.get()[:, 1]  # step 2: the weights times step 1's all-ones input
    expected = [sum(documented_inhibitory(x, num_weight_bits) for x in row) for row in weights]
    assert got.tolist() == expected

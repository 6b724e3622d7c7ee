"""The behaviour every placement must give, written once and run on each placement that
applies (the ``placement`` fixture of ``conftest.py``): the recorded Lava traces (float to
1e-9, fixed point bit for bit, also on the chip), runs continued in pieces, results that do
not depend on placement and follow the seed, fan-in and fan-out, Var get/set between runs,
runs a model stops or pauses, continuous and non-blocking runs, and a failing model named."""
import functools
import os
import time

import numpy as np
import pytest

from lava_lite import (LoihiProcessModel, OutPort, OutPortType, Process, ProcessModelError,
                       RunConfig, RunContinuous, RunStateError, RunSteps, implements, tag)
from lava_lite.proc_lib import LIF, Dense, Monitor, SinkRingBuffer
from support import (FIXED_SEEDS, FLOAT_TRACE, Alarm, Ramp, alive, assert_bit_for_bit,
                     assert_close_to_float_trace, build, chip_models, emulators, gone,
                     load_trace, parent_of, recorded, reference)


def sink_of(port, steps):
    sink = SinkRingBuffer(shape=port.shape, buffer=steps)
    port.connect(sink.a_in)
    return sink


# -- the recorded traces -------------------------------------------------------------------------
def test_float_reference_trace_reproduced(placement):
    arrays, meta = load_trace(FLOAT_TRACE)
    source, monitor, _ = build(arrays, meta)
    with source:
        source.run(RunSteps(meta["T"]), placement.run_cfg(select_tag="floating_pt"))
        got = recorded(monitor)
    assert_close_to_float_trace(got, arrays, placement.id)


def test_runs_continue_from_live_state_in_pieces(placement):
    arrays, meta = load_trace(FLOAT_TRACE)
    source, monitor, pops = build(arrays, meta)
    cfg = placement.run_cfg(select_tag="floating_pt")
    with source:
        for steps in (7, 1, meta["T"] - 8):
            source.run(RunSteps(steps), cfg)
        got = recorded(monitor)
        np.testing.assert_allclose(pops["a"].v.get(), arrays["a_v"][-1], atol=1e-9)
    np.testing.assert_allclose(got["b_v"], arrays["b_v"], atol=1e-9)


@pytest.mark.fixed_point
@pytest.mark.parametrize("seed", FIXED_SEEDS)
def test_fixed_reference_trace_bit_for_bit(placement, seed):
    """In two runs (the second continues the first); on the chip, the chip's models run
    in an emulator that is a child of this process, ended by stop()."""
    arrays, meta, source, monitor, _ = reference(seed)
    assert meta["tag"] == "fixed_pt"
    cfg = placement.run_cfg(select_tag="fixed_pt")
    chip_pid = None
    try:
        source.run(RunSteps(meta["T"] // 2), cfg)
        if placement.on_chip:
            plan = source._session.plan
            assert {p.name: p.model.rsplit(":", 1)[-1] for p in plan.processes} == \
                chip_models(meta)
            assert "target 'chip'" in plan.process(1).model_choice
            (chip_pid,) = emulators()
            assert chip_pid != os.getpid() and alive(chip_pid)
            assert parent_of(chip_pid) == os.getpid()
            assert source._session.runtime.executor.partitions[0].pid == chip_pid
        source.run(RunSteps(meta["T"] - meta["T"] // 2), cfg)
        got = recorded(monitor)
    finally:
        source.stop()
    if chip_pid is not None:
        assert gone([chip_pid]), "the emulated chip outlived stop()"
    assert_bit_for_bit(got, arrays, f"seed {seed}, {placement.id}")


# -- placement and seed --------------------------------------------------------------------------
class PoissonSource(Process):
    def __init__(self, *, shape, rate, name=None):
        super().__init__(name=name)
        self.s_out = OutPort(shape)
        self.proc_params["rate"] = rate


@implements(proc=PoissonSource)
@tag("floating_pt")
class PoissonSourceModel(LoihiProcessModel):
    s_out = OutPortType(np.float64)

    def run_spk(self):
        self.s_out.send(self.rng.random(self.s_out.shape) < self.proc_params["rate"])


def raster(workers, seed, steps=60):
    rng = np.random.default_rng(3)  # weights: fixed, independent of the run's seed
    sources = [PoissonSource(shape=(20,), rate=0.2, name=f"poisson{k}") for k in range(2)]
    pop = LIF(shape=(30,), du=0.3, dv=0.2, vth=1.0, name="pop")
    recurrent = Dense(weights=rng.normal(0, 0.3, (30, 30)))
    for source in sources:
        dense = Dense(weights=rng.uniform(0, 0.5, (30, 20)))
        source.s_out.connect(dense.s_in)
        dense.a_out.connect(pop.a_in)  # fan-in of three Dense outputs
    pop.s_out.connect(recurrent.s_in)
    recurrent.a_out.connect(pop.a_in)
    monitor = Monitor()
    monitor.probe(pop.s_out, steps)
    monitor.probe(pop.v, steps)
    with pop:
        pop.run(RunSteps(steps), RunConfig(workers=workers, seed=seed))
        data = monitor.get_data()["pop"]
    return data["s_out"], data["v"]


@functools.lru_cache(maxsize=None)
def in_process_raster(seed):
    """What every placement must reproduce (computed once per test session)."""
    return raster(0, seed)


@pytest.mark.placements("one_worker", "two_workers", "three_workers", "per_process")
def test_results_do_not_depend_on_placement(placement):
    spikes, voltages = in_process_raster(7)
    assert spikes.sum() > 0
    other_spikes, other_v = raster(placement.workers, seed=7)
    np.testing.assert_array_equal(other_spikes, spikes, err_msg=placement.id)
    np.testing.assert_array_equal(other_v, voltages, err_msg=placement.id)


def test_results_follow_the_seed():
    assert not np.array_equal(raster(0, seed=8)[0], in_process_raster(7)[0])


# -- fan-in, fan-out, Var access -----------------------------------------------------------------
@pytest.mark.placements("in_process", "two_workers")
def test_fan_out_copies_and_fan_in_sums_in_fixed_order(placement):
    one, ten = Ramp(scale=1.0, name="one"), Ramp(scale=10.0, name="ten")
    sink = SinkRingBuffer(shape=(3,), buffer=4, name="sum")
    one.out.connect([sink.a_in])
    sink.a_in.connect_from(ten.out)
    copy_sink = sink_of(one.out, 4)
    with sink:
        sink.run(RunSteps(4), placement.run_cfg())
        summed, copied = sink.data.get(), copy_sink.data.get()
    np.testing.assert_array_equal(summed, np.tile(11.0 * np.arange(1, 5), (3, 1)))
    np.testing.assert_array_equal(copied, np.tile(np.arange(1, 5.0), (3, 1)))


@pytest.mark.placements("in_process", "one_worker", "per_process")
def test_get_set_between_runs_keep_dtype_and_change_the_run(placement):
    ramp = Ramp(scale=2.0)
    sink = sink_of(ramp.out, 6)
    with ramp:
        ramp.run(RunSteps(3), placement.run_cfg())
        last = ramp.last.get()
        assert last.dtype == np.int64 and np.array_equal(last, [3, 3, 3])
        assert ramp.scale.get().dtype == np.float64
        ramp.scale.set(np.array([-1.0]))
        assert ramp.scale.get()[0] == -1.0
        ramp.run(RunSteps(3), placement.run_cfg())
        row = sink.data.get()[0]
    np.testing.assert_array_equal(row, [2, 4, 6, -4, -5, -6])


# -- run control ---------------------------------------------------------------------------------
def alarm_network(at, action):
    """Alarm -> Dense -> LIF, with the LIF (downstream, possibly in another worker)
    probed so that the step it reached can be read after stop."""
    alarm = Alarm(at=at, action=action, name="alarm")
    dense = Dense(weights=np.ones((1, 1)), num_message_bits=24)
    lif = LIF(shape=(1,), vth=1e9, name="lif")
    alarm.out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    monitor = Monitor()
    monitor.probe(lif.u, 50)
    return alarm, lif, monitor


@pytest.mark.placements("in_process", "one_worker", "per_process")
def test_model_requested_stop_ends_the_run_at_that_step(placement):
    alarm, lif, monitor = alarm_network(at=7, action="stop")
    with alarm:
        alarm.run(RunSteps(50), placement.run_cfg())
        assert alarm.current_step == 7
        u = monitor.get_data()["lif"]["u"][:, 0]
        assert alarm.count.get()[0] == 7  # state stays readable until stop()
        with pytest.raises(RunStateError, match="a model asked to stop the run at step 7"):
            alarm.run(RunSteps(1))
    # lif.u integrates alarm counts one step late: u(t) = sum(1..t-1); nothing after step 7.
    np.testing.assert_array_equal(u[:7], np.cumsum(np.arange(7)))
    assert not u[7:].any()
    assert alarm.current_step == 7


@pytest.mark.placements("in_process", "one_worker", "per_process")
def test_model_requested_pause_then_continue(placement):
    alarm, lif, _ = alarm_network(at=4, action="pause")
    with alarm:
        alarm.run(RunContinuous(), placement.run_cfg())
        alarm.wait()  # a continuous run ends when the model asks
        assert alarm.count.get()[0] == 4 and lif.u.get()[0] == 6
        alarm.run(RunSteps(3), placement.run_cfg())
        assert alarm.count.get()[0] == 7 and lif.u.get()[0] == 21


@pytest.mark.placements("in_process", "two_workers")
def test_continuous_run_pause_and_continue(placement):
    ramp = Ramp()
    sink = sink_of(ramp.out, 100_000)
    ramp.run(RunContinuous(), placement.run_cfg())
    time.sleep(0.2)
    with pytest.raises(RunStateError, match="while the graph runs"):
        ramp.last.get()
    ramp.pause()
    paused_at = int(ramp.last.get()[0])
    assert paused_at > 0
    recorded_steps = np.count_nonzero(sink.data.get()[0])
    assert recorded_steps == paused_at  # every Process stopped at the same step
    ramp.run(RunSteps(5), placement.run_cfg())
    assert int(ramp.last.get()[0]) == paused_at + 5
    ramp.stop()


@pytest.mark.placements("in_process", "one_worker")
def test_non_blocking_run_then_wait(placement):
    ramp = Ramp()
    sink = sink_of(ramp.out, 50)
    with ramp:
        ramp.run(RunSteps(50, blocking=False), placement.run_cfg())
        with pytest.raises(RunStateError, match="already running"):
            ramp.run(RunSteps(1), placement.run_cfg())
        ramp.wait()
        assert sink.data.get()[0, -1] == 50


# -- failures ------------------------------------------------------------------------------------
@pytest.mark.placements("in_process", "one_worker", "per_process")
def test_model_error_raises_with_process_phase_step_and_traceback(placement):
    ramp = Ramp(fail_at=4, name="bad_ramp")
    sink_of(ramp.out, 10)
    start = time.monotonic()
    with pytest.raises(ProcessModelError) as caught:
        ramp.run(RunSteps(10), placement.run_cfg())
    assert time.monotonic() - start < 5
    error = caught.value
    assert (error.process_name, error.model, error.phase, error.time_step) == (
        "bad_ramp", "RampModel", "run_spk", 4)
    assert "ramp exploded on purpose" in error.traceback_text
    assert "ZeroDivisionError" in str(error)
    with pytest.raises(RunStateError, match="stopped"):
        ramp.run(RunSteps(1))

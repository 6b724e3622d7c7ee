"""The runtimes' own mechanics: Var access in one message, run state errors, worker
processes ended or reported, run stats, waiting against computing, and a float LIF's
threshold changed by a subclass. (What every placement must compute: test_behaviour.py.)"""
import os
import signal
import time

import numpy as np
import pytest

from lava_lite import (InPort, InPortType, LoihiProcessModel, Process, ProcessModelError,
                       RunConfig, RunContinuous, RunStateError, RunSteps, Var, VarType,
                       WorkerDiedError, implements, tag)
from lava_lite.proc_lib import LIF, Dense, SinkRingBuffer, SourceRingBuffer
from lava_lite.proc_lib.lif.models import PyLifFloat
from lava_lite.runtimes.multiprocess import MultiprocessRuntime
from support import Ramp, alive


def sink_of(port, steps):
    sink = SinkRingBuffer(shape=port.shape, buffer=steps)
    port.connect(sink.a_in)
    return sink


def test_var_get_is_one_message_whatever_the_size(monkeypatch):
    class Big(Process):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.x = Var((10_000,), init=np.arange(10_000.0))

    @implements(proc=Big)
    class BigModel(LoihiProcessModel):
        x = VarType(np.float64)

    big = Big()
    sent = []
    original = MultiprocessRuntime._send
    monkeypatch.setattr(MultiprocessRuntime, "_send",
                        lambda self, w, m, *a, **k: (sent.append(m.k), original(self, w, m, *a, **k)))
    with big:
        big.run(RunSteps(1), RunConfig(workers=1))
        sent.clear()
        value = big.x.get()
        assert sent == ["get"]
        big.x.set(value * 2)
        assert sent == ["get", "set"]
        np.testing.assert_array_equal(big.x.get(), np.arange(10_000.0) * 2)


def test_run_after_stop_and_get_after_stop_are_clear_errors():
    ramp = Ramp()
    ramp.run(RunSteps(2), RunConfig(workers=1))
    ramp.stop()
    ramp.stop()  # idempotent
    with pytest.raises(RunStateError, match="stopped"):
        ramp.run(RunSteps(1))
    with pytest.raises(RunStateError, match="stopped"):
        ramp.last.get()


def test_stop_ends_every_worker_process():
    ramp = Ramp()
    sink_of(ramp.out, 5)
    ramp.run(RunSteps(5), RunConfig(workers="per_process"))
    pids = [p.pid for p in ramp._session.runtime.processes]
    assert len(pids) == 2 and all(alive(pid) for pid in pids)
    ramp.stop()
    assert not any(alive(pid) for pid in pids)


def test_killed_worker_is_reported_and_the_rest_stopped():
    ramp = Ramp(name="victim")
    sink_of(ramp.out, 10)
    ramp.run(RunContinuous(), RunConfig(workers="per_process"))
    processes = list(ramp._session.runtime.processes)
    victim = next(p for p in processes if p.name.endswith("-0"))
    os.kill(victim.pid, signal.SIGKILL)
    start = time.monotonic()
    with pytest.raises(WorkerDiedError, match=r"worker 0 \(hosting victim\).*SIGKILL"):
        ramp.pause()
    assert time.monotonic() - start < 2


def test_model_constructor_error_is_reported():
    class Fragile(Process):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.x = Var((1,))

    @implements(proc=Fragile)
    class FragileModel(LoihiProcessModel):
        x = VarType(float)

        def __init__(self, proc_params):
            super().__init__(proc_params)
            raise RuntimeError("cannot build")

    fragile = Fragile(name="fragile")
    with pytest.raises(ProcessModelError, match=r"(?s)'fragile' \(model FragileModel\).*"
                                                r"model construction.*cannot build"):
        fragile.run(RunSteps(1), RunConfig(workers=1))


def test_repeated_pause_resume_keeps_every_process_on_the_same_step():
    ramp = Ramp(name="ramp")
    dense = Dense(weights=np.eye(3), num_message_bits=24, name="dense")
    lif = LIF(shape=(3,), vth=1e9, name="lif")
    ramp.out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    direct = sink_of(ramp.out, 100_000)
    cfg = RunConfig(workers="per_process", select_tag="floating_pt")
    with ramp:
        for _ in range(5):
            ramp.run(RunContinuous(), cfg)
            time.sleep(0.05)
            ramp.pause()
            step = int(ramp.last.get()[0])
            assert np.count_nonzero(direct.data.get()[0]) == step
            # lif integrates the step numbers, one step late through Dense: u = sum(1..step-1)
            assert lif.u.get()[0] == pytest.approx(step * (step - 1) / 2)


@pytest.mark.placements("in_process", "per_process")
def test_run_stats_show_time_and_traffic(placement):
    ramp = Ramp(name="ramp")
    sink = sink_of(ramp.out, 10)
    with ramp:
        ramp.run(RunSteps(30), placement.run_cfg())
        stats = ramp.run_stats()
    assert stats.steps == 30
    by_name = {p.name: p for p in stats.processes}
    assert set(by_name) == {"ramp", sink.name}
    assert by_name["ramp"].compute_seconds > 0
    if placement.workers == 0:
        assert stats.workers == ()
    else:
        sender = by_name["ramp"].worker
        assert stats.workers[sender].messages_sent == 30
        assert stats.workers[sender].bytes_sent == 30 * 3 * 8
    assert "ramp" in str(stats) and "compute s" in str(stats)


class Sluggish(Process):
    """Receives and takes ``seconds`` per step."""

    def __init__(self, *, shape=(3,), seconds=0.001, name=None):
        super().__init__(name=name)
        self.inp = InPort(shape)
        self.proc_params["seconds"] = seconds


@implements(proc=Sluggish)
@tag("floating_pt")
class SluggishModel(LoihiProcessModel):
    inp = InPortType(np.float64)

    def run_spk(self):
        time.sleep(self.proc_params["seconds"])


def test_a_sender_held_up_by_a_slow_receiver_is_waiting_not_computing():
    ramp = Ramp(shape=(2_000,), name="ramp")
    slow = Sluggish(shape=(2_000,), seconds=0.001, name="slow")
    ramp.out.connect(slow.inp)
    with ramp:
        ramp.run(RunSteps(1500), RunConfig(workers="per_process"))
        stats = {p.name: p for p in ramp.run_stats().processes}
    # The receiver sleeps 1.5 s in all; the sender runs ahead as far as the queues allow (a
    # few hundred messages), then waits for room: that time is waiting.
    assert stats["slow"].compute_seconds >= 1.5
    assert stats["ramp"].wait_seconds > 0.5 > stats["ramp"].compute_seconds


class AdaptiveLIF(LIF):
    """A LIF whose model raises its threshold by 100 after every step (``in_place``: by
    changing the vth array, else by assigning a new one)."""

    def __init__(self, *, in_place: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.proc_params["in_place"] = in_place


@implements(proc=AdaptiveLIF)
@tag("floating_pt")
class AdaptiveLIFModel(PyLifFloat):
    def post_guard(self):
        return True

    def run_post_mgmt(self):
        if self.proc_params["in_place"]:
            self.vth += 100.0
        else:
            self.vth = self.vth + 100.0


def _adaptive_run(placement, in_place):
    src = SourceRingBuffer(data=np.ones((2, 1)), name="src")
    lif = AdaptiveLIF(shape=(2,), du=0.0, dv=0.0, vth=0.5, in_place=in_place, name="adaptive")
    sink = sink_of(lif.s_out, 4)
    src.s_out.connect(lif.a_in)
    with src:
        src.run(RunSteps(4), placement.run_cfg(select_tag="floating_pt"))
        return lif.vth.get(), sink.data.get()


@pytest.mark.placements("in_process", "one_worker")
def test_a_float_lif_sees_its_threshold_change_or_says_how_to_change_it(placement):
    # Input 1 every step, no decay: v = 1, 2, 3, 4; vth 0.5 at step 1, then 100.5, 200.5, ...
    vth, spikes = _adaptive_run(placement, in_place=False)
    np.testing.assert_array_equal(vth, [400.5])
    np.testing.assert_array_equal(spikes[0], [1.0, 0.0, 0.0, 0.0])
    with pytest.raises(ProcessModelError, match=r"(?s)'adaptive'.*run_post_mgmt.*read-only"):
        _adaptive_run(placement, in_place=True)  # would go unseen by the per-neuron copy

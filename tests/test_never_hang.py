"""Nothing hangs, whatever the user does: graphs left to the garbage collector, pause and stop
from another thread, frozen workers, unreadable replies, failed runs, signals, too few files.
"""
import gc
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from lava_lite import (LoihiProcessModel, OutPort, OutPortType, Process, ProcessModelError,
                       RunConfig, RunContinuous, RunSteps, RunTimeoutError, Var, VarType,
                       WorkerError, implements)
from lava_lite.proc_lib import LIF, Dense, Monitor, SinkRingBuffer
from lava_lite.runtimes import worker as worker_module
from support import gone

MULTIPROCESS = [1, "per_process"]


class Counter(Process):
    """Sends its step number; fails at step ``fail_at``, never returns from ``__init__``
    if ``hang_in_init``."""

    def __init__(self, *, shape=(4,), fail_at=0, hang_in_init=False, name=None):
        super().__init__(name=name)
        self.out = OutPort(shape)
        self.count = Var(shape, init=0.0)
        self.proc_params.update(fail_at=fail_at, hang_in_init=hang_in_init)


@implements(proc=Counter)
class CounterModel(LoihiProcessModel):
    out = OutPortType(np.float64)
    count = VarType(np.float64)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        while proc_params["hang_in_init"]:
            time.sleep(0.01)

    def run_spk(self):
        if self.time_step == self.proc_params["fail_at"]:
            raise ZeroDivisionError("counter failed on purpose")
        self.count = np.full(self.count.shape, float(self.time_step))
        self.out.send(self.count)


def _chain(fail_at=0, sinks=1, name="counter"):
    counter = Counter(fail_at=fail_at, name=name)
    for k in range(sinks):
        counter.out.connect(SinkRingBuffer(shape=(4,), buffer=8, name=f"sink{k}").a_in)
    return counter


def _worker_pids(process) -> list[int]:
    return [p.pid for p in process._session.runtime.processes]


# -- 1. a graph left to the garbage collector ---------------------------------------------------
@pytest.mark.parametrize("workers", [0, 1, "per_process"])
def test_rebinding_a_running_graph_ten_times_without_stop_neither_hangs_nor_leaks(workers):
    start, pids = time.monotonic(), []
    for _ in range(10):
        counter = _chain()  # the previous graph becomes garbage, unstopped
        counter.run(RunSteps(3), RunConfig(workers=workers))
        if workers:
            pids += _worker_pids(counter)
        gc.collect()
    del counter
    gc.collect()
    assert time.monotonic() - start < 20
    assert gone(pids, within=3.0)


def test_a_non_blocking_run_that_becomes_garbage_is_stopped():
    counter = _chain()
    counter.run(RunContinuous(), RunConfig(workers=1))
    pids = _worker_pids(counter)
    del counter
    gc.collect()
    assert gone(pids, within=3.0)


# -- 2. pause and stop from another thread ------------------------------------------------------
TWO_THREADS = textwrap.dedent("""
    import sys, threading, time
    import numpy as np
    from lava_lite import RunConfig, RunSteps
    from lava_lite.proc_lib import LIF, Dense, SourceRingBuffer

    workers = None if sys.argv[1] == "default" else (
        int(sys.argv[1]) if sys.argv[1].isdigit() else sys.argv[1])
    for attempt in range(20):
        source = SourceRingBuffer(data=np.ones((8, 10)))
        dense = Dense(weights=np.full((8, 8), 0.1))
        lif = LIF(shape=(8,), du=0.1, dv=0.1, vth=1.0)
        source.s_out.connect(dense.s_in)
        dense.a_out.connect(lif.a_in)
        outcome = []

        def blocking_run():
            try:
                lif.run(RunSteps(10**9), RunConfig(workers=workers))
                outcome.append("returned")
            except BaseException as exc:
                outcome.append(repr(exc))

        runner = threading.Thread(target=blocking_run)
        runner.start()
        time.sleep(0.05 + 0.01 * (attempt % 5))  # sometimes before the run has started
        if attempt % 2:
            lif.stop()
        else:
            lif.pause()
        runner.join(10)
        assert not runner.is_alive(), f"attempt {attempt}: run() did not return"
        assert outcome == ["returned"], f"attempt {attempt}: {outcome}"
        if attempt % 2 == 0:  # paused: the state is readable, the run continues
            step = lif.current_step
            assert step > 0 and lif.v.get().shape == (8,)
            lif.run(RunSteps(3))
            assert lif.current_step == step + 3
            lif.stop()
    print("ok")
""")


@pytest.mark.parametrize("workers", ["default", "0", "per_process"])
def test_pause_and_stop_from_a_second_thread_twenty_times(workers):
    # In a subprocess: on the old code one socket used from two threads crashed the
    # interpreter (a libzmq assertion) or hung.
    out = subprocess.run([sys.executable, "-c", TWO_THREADS, workers], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]


# -- 3. frozen workers: every call bounded ------------------------------------------------------
def _frozen(pid: int):
    os.kill(pid, signal.SIGSTOP)


def _with_monitor(workers):
    counter = _chain()
    monitor = Monitor()
    monitor.probe(counter.count, num_steps=10)
    counter.run(RunSteps(3), RunConfig(workers=workers, timeout=1))
    return counter, monitor


@pytest.mark.parametrize("call", ["get", "set", "get_data", "run_stats"])
def test_a_frozen_worker_makes_each_call_raise_within_the_timeout(call):
    counter, monitor = _with_monitor("per_process")
    pids = _worker_pids(counter)
    _frozen(pids[counter._session.plan.process(0).worker])
    calls = {"get": counter.count.get, "set": lambda: counter.count.set(np.ones(4)),
             "get_data": monitor.get_data, "run_stats": counter.run_stats}
    start = time.monotonic()
    with pytest.raises(RunTimeoutError, match=r"within 1 s from worker \d \(hosting counter\)"):
        calls[call]()
    assert time.monotonic() - start < 4
    assert gone(pids, within=3.0)


def test_stop_ends_frozen_workers_within_a_few_seconds():
    counter, _ = _with_monitor("per_process")
    pids = _worker_pids(counter)
    for pid in pids:
        _frozen(pid)
    start = time.monotonic()
    counter.stop()
    assert time.monotonic() - start < 6
    assert gone(pids, within=1.0)


def test_twelve_frozen_processes_are_reported_in_about_one_timeout():
    counter = _chain(sinks=11)
    monitor = Monitor()
    for k in range(11):
        monitor.probe(counter.out, num_steps=5)
    counter.run(RunSteps(2), RunConfig(workers="per_process", timeout=1))
    pids = _worker_pids(counter)
    assert len(pids) == 12
    for pid in pids:
        _frozen(pid)
    start = time.monotonic()
    with pytest.raises(RunTimeoutError, match="sink10"):
        monitor.get_data()
    assert time.monotonic() - start < 4  # not twelve timeouts in a row
    assert gone(pids, within=3.0)


def test_a_frozen_worker_is_reported_during_a_run_even_without_a_timeout(monkeypatch):
    monkeypatch.setattr("lava_lite.runtimes.multiprocess.CONTROL_TIMEOUT_SECONDS", 1.0)
    counter = _chain()
    counter.run(RunContinuous(), RunConfig(workers="per_process"))
    pids = _worker_pids(counter)
    _frozen(pids[1])
    start = time.monotonic()
    with pytest.raises(RunTimeoutError, match=r"worker 1 \(hosting sink0\) has been stopped "
                                              r"by a signal"):
        counter.wait()
    assert time.monotonic() - start < 4
    assert gone(pids, within=3.0)


@pytest.mark.parametrize("workers", [0, 1, "per_process"])
def test_a_model_init_that_never_returns_is_reported_naming_the_process(workers):
    stuck = Counter(hang_in_init=True, name="never_built")
    stuck.out.connect(SinkRingBuffer(shape=(4,), buffer=2).a_in)
    start = time.monotonic()
    with pytest.raises(RunTimeoutError, match=r"model construction of 'never_built' made no "
                                              r"progress for 1 s"):
        stuck.run(RunSteps(2), RunConfig(workers=workers, timeout=1))
    assert time.monotonic() - start < 5


# -- 4. replies that cannot be read -------------------------------------------------------------
class Holder(Process):
    def __init__(self, *, name=None):
        super().__init__(name=name)
        self.x = Var((2,), init=0.0)


@implements(proc=Holder)
class HolderModel(LoihiProcessModel):
    x = VarType(np.float64)

    def run_spk(self):
        self.x = "x" * 2_000_000  # no array of numbers: get() cannot answer with a value


@pytest.mark.parametrize("workers", [0, 1])
def test_a_var_that_cannot_be_sent_is_a_clear_error_not_a_hang(workers):
    holder = Holder(name="holder")
    with holder:
        holder.run(RunSteps(1), RunConfig(workers=workers, timeout=2))
        start = time.monotonic()
        with pytest.raises(ValueError, match="could not convert string to float"):
            holder.x.get()
        assert time.monotonic() - start < 2


def test_an_unreadable_reply_from_a_worker_is_a_failure_of_that_worker(monkeypatch):
    real = worker_module.Worker.send

    def garbled(self, message, arrays=()):
        if message.k == "reply":
            self.socket.send_multipart([b"\xc1 not msgpack"])
        else:
            real(self, message, arrays)

    monkeypatch.setattr(worker_module.Worker, "send", garbled)  # workers are forked: see it
    counter = _chain()
    counter.run(RunSteps(2), RunConfig(workers="per_process", timeout=2))
    pids = _worker_pids(counter)
    start = time.monotonic()
    with pytest.raises(WorkerError, match=r"worker \d \(hosting counter\) sent a message the "
                                          r"coordinator cannot read"):
        counter.count.get()
    assert time.monotonic() - start < 2
    assert gone(pids, within=3.0)


def test_a_huge_failure_report_still_reaches_the_user():
    class Loud(Counter):
        pass

    @implements(proc=Loud)
    class LoudModel(CounterModel):
        def run_spk(self):
            raise RuntimeError("y" * 3_000_000)

    loud = Loud(name="loud")
    loud.out.connect(SinkRingBuffer(shape=(4,), buffer=2).a_in)
    with pytest.raises(ProcessModelError, match="(?s)Process .loud..*shortened"):
        loud.run(RunSteps(2), RunConfig(workers=1, timeout=2))


# -- 8. a failed run keeps what was recorded -----------------------------------------------------
@pytest.mark.parametrize("workers", [0, 1, "per_process"])
def test_monitor_data_and_current_step_survive_a_failed_run(workers):
    counter = _chain(fail_at=6)
    lif = LIF(shape=(4,), du=0.5, dv=0.5, vth=100.0, name="lif")
    dense = Dense(weights=np.eye(4))
    counter.out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    monitor = Monitor()
    monitor.probe(counter.count, num_steps=10)
    monitor.probe(lif.v, num_steps=10)
    with pytest.raises(ProcessModelError, match="counter failed on purpose"):
        counter.run(RunSteps(10), RunConfig(workers=workers))
    assert counter.current_step == 5
    data = monitor.get_data()
    np.testing.assert_array_equal(data["counter"]["count"][:5, 0], [1, 2, 3, 4, 5])
    assert data["lif"]["v"][:4].any()  # lif saw counts 1..4 (Dense delays by one step)
    assert not data["counter"]["count"][6:].any()


def test_probe_data_of_a_worker_that_died_is_said_lost_and_the_rest_kept():
    counter = _chain()
    lif = LIF(shape=(4,), du=0.5, dv=0.5, vth=100.0, name="lif")
    counter.out.connect(lif.a_in)
    monitor = Monitor()
    monitor.probe(counter.count, num_steps=100)
    monitor.probe(lif.v, num_steps=100)
    counter.run(RunContinuous(), RunConfig(workers="per_process"))
    time.sleep(0.3)
    lif_worker = counter._session.plan.process(
        counter._session.compiled.process_ids[lif]).worker
    os.kill(_worker_pids(counter)[lif_worker], signal.SIGKILL)
    with pytest.raises(Exception, match="died unexpectedly"):
        counter.wait()
    with pytest.warns(RuntimeWarning, match=r"the data of lif\.v was lost"):
        data = monitor.get_data()
    assert "lif" not in data and data["counter"]["count"][:, 0].any()


# -- 9. signals ending the user's process -------------------------------------------------------
SIGNALLED = textwrap.dedent("""
    import sys, time
    import numpy as np
    from lava_lite import RunConfig, RunContinuous
    from lava_lite.proc_lib import LIF, SourceRingBuffer
    source = SourceRingBuffer(data=np.ones((3, 5)))
    lif = LIF(shape=(3,), du=0.1, dv=0.1, vth=1.0)
    source.s_out.connect(lif.a_in)
    lif.run(RunContinuous(), RunConfig(workers="per_process"))
    runtime = lif._session.runtime
    print(runtime.network.ipc_dir, *[p.pid for p in runtime.processes], flush=True)
    time.sleep(60)
""")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_or_sighup_of_the_users_process_cleans_up_and_still_ends_it(signum):
    proc = subprocess.Popen([sys.executable, "-c", SIGNALLED], stdout=subprocess.PIPE,
                            text=True)
    directory, *pids = proc.stdout.readline().split()
    assert os.path.isdir(directory)
    proc.send_signal(signum)
    assert proc.wait(timeout=10) == -signum  # still dies of the signal
    assert gone(map(int, pids), within=3.0)
    assert not os.path.exists(directory)


# -- 10. odd failures: too few files, a worker that exits ----------------------------------------
FEW_FILES = textwrap.dedent("""
    import resource, numpy as np
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    from lava_lite import RunConfig, RunSteps
    from lava_lite.proc_lib import SinkRingBuffer, SourceRingBuffer
    source = SourceRingBuffer(data=np.ones((2, 4)))
    for _ in range(30):
        source.s_out.connect(SinkRingBuffer(shape=(2,), buffer=4).a_in)
    try:
        source.run(RunSteps(2), RunConfig(workers="per_process"))
    except OSError as exc:
        print(exc)
""")


def test_too_few_file_descriptors_say_how_many_the_run_needs():
    out = subprocess.run([sys.executable, "-c", FEW_FILES], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "a run on 31 workers needs about" in out.stdout
    assert "may open 64 (ulimit -n" in out.stdout


def test_a_low_soft_limit_on_files_is_raised_for_the_run():
    script = FEW_FILES.replace("(64, 64)", "(64, resource.getrlimit(resource.RLIMIT_NOFILE)[1])")
    out = subprocess.run([sys.executable, "-c", script + "print('ran')"], capture_output=True,
                         text=True, timeout=60)
    assert out.stdout.strip() == "ran", out.stdout + out.stderr[-2000:]


class Quitter(Counter):
    pass


@implements(proc=Quitter)
class QuitterModel(CounterModel):
    def run_spk(self):
        if self.time_step == 2:
            sys.exit(3)
        super().run_spk()


@pytest.mark.parametrize("workers", [0, 1])
def test_a_model_calling_sys_exit_is_named(workers):
    quitter = Quitter(name="quitter")
    quitter.out.connect(SinkRingBuffer(shape=(4,), buffer=4).a_in)
    with pytest.raises(ProcessModelError, match=r"Process 'quitter' .* at time step 2"):
        quitter.run(RunSteps(4), RunConfig(workers=workers))


def test_a_worker_failing_outside_any_model_names_what_it_hosted(monkeypatch):
    def out_of_memory(self):
        raise MemoryError

    monkeypatch.setattr(worker_module.Worker, "send_probes", out_of_memory)
    counter = _chain()
    monitor = Monitor()
    monitor.probe(counter.count, num_steps=4)
    counter.run(RunSteps(2), RunConfig(workers=1))
    with pytest.raises(WorkerError, match=r"worker 0 \(hosting counter, sink0\) failed outside "
                                          r"any model(?s:.*)MemoryError"):
        monitor.get_data()


def test_a_worker_killed_by_sigkill_mentions_memory():
    counter = _chain()
    counter.run(RunContinuous(), RunConfig(workers=1))
    os.kill(_worker_pids(counter)[0], signal.SIGKILL)
    with pytest.raises(Exception, match=r"SIGKILL: by the user, or by the kernel when memory "
                                        r"ran out"):
        counter.wait()

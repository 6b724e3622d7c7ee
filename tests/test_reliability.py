"""Faults never hang and nothing leaks: stalls, Ctrl-C, exits, kills, repeated runs."""
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
import zmq

from lava_lite import (LoihiProcessModel, OutPort, OutPortType, Process, RunConfig,
                       RunSteps, RunTimeoutError, implements)
from lava_lite.proc_lib import SinkRingBuffer, SourceRingBuffer
from lava_lite.runtimes.network import Network
from support import gone


class Spinner(Process):
    """Sends ones; at step ``hang_at`` its model never returns."""

    def __init__(self, *, hang_at=0, name=None):
        super().__init__(name=name)
        self.out = OutPort((2,))
        self.proc_params["hang_at"] = hang_at


@implements(proc=Spinner)
class SpinnerModel(LoihiProcessModel):
    out = OutPortType(np.float64)

    def run_spk(self):
        while self.time_step == self.proc_params["hang_at"]:
            time.sleep(0.01)
        self.out.send(np.ones(2))


def test_stuck_model_times_out_naming_the_process():
    spinner = Spinner(hang_at=3, name="stuck_one")
    sink = SinkRingBuffer(shape=(2,), buffer=10, name="downstream")
    spinner.out.connect(sink.a_in)
    start = time.monotonic()
    with pytest.raises(RunTimeoutError, match=r"no progress for 1 s: stuck_one.* did not "
                                              r"finish time step 3"):
        spinner.run(RunSteps(10), RunConfig(workers="per_process", timeout=1))
    assert time.monotonic() - start < 5


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_repeated_runs_leak_no_descriptors_threads_or_processes():
    def cycle():
        spinner = Spinner()
        sink = SinkRingBuffer(shape=(2,), buffer=3)
        spinner.out.connect(sink.a_in)
        with spinner:
            spinner.run(RunSteps(3), RunConfig(workers=2))

    cycle()  # first use loads modules and creates lazily-made resources
    fds, threads = _open_fds(), threading.active_count()
    for _ in range(200):
        cycle()
    import multiprocessing
    assert not multiprocessing.active_children()
    assert _open_fds() <= fds + 3
    assert threading.active_count() <= threads + 2


SCRIPT = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    from lava_lite import RunConfig, RunSteps, RunContinuous
    from lava_lite.proc_lib import LIF, Dense, SourceRingBuffer
    src = SourceRingBuffer(data=np.ones((3, 5)))
    dense = Dense(weights=np.ones((3, 3)))
    lif = LIF(shape=(3,))
    src.s_out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    mode = sys.argv[1]
    cfg = RunConfig(workers="per_process")
    if mode == "interrupt":
        lif.run(RunSteps(10**9, blocking=False), cfg)
    else:
        lif.run(RunContinuous(), cfg)
    pids = [p.pid for p in lif._session.runtime.processes]
    print(" ".join(map(str, pids)), flush=True)
    if mode == "interrupt":
        try:
            lif.wait()
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            sys.exit(0)
    elif mode == "exit":
        sys.exit(0)  # no stop(): the interpreter's exit must end the workers
    else:
        time.sleep(60)  # waits to be killed
""")


def _start_script(mode: str):
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, mode], stdout=subprocess.PIPE,
                            text=True)
    pids = [int(p) for p in proc.stdout.readline().split()]
    assert len(pids) == 3
    return proc, pids


def test_ctrl_c_during_a_run_stops_every_worker():
    proc, pids = _start_script("interrupt")
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=10)
    assert "interrupted" in out
    assert gone(pids, within=3.0)


def test_exiting_without_stop_ends_the_workers():
    proc, pids = _start_script("exit")
    assert proc.wait(timeout=10) == 0
    assert gone(pids, within=3.0)


def test_killed_user_process_leaves_no_orphans():
    proc, pids = _start_script("sleep")
    proc.kill()
    proc.wait(timeout=10)
    assert gone(pids, within=3.0)


THREADS_AT_FORK = textwrap.dedent("""
    import os
    import time
    import numpy as np
    from lava_lite import RunConfig, RunSteps
    from lava_lite.proc_lib import LIF, Dense, SourceRingBuffer

    threads_at_fork, fork = [], os.fork

    def counting_fork():
        threads_at_fork.append(len(os.listdir("/proc/self/task")))
        return fork()

    os.fork = counting_fork
    for transport in ("ipc", "tcp"):  # twice: the first run must leave no thread behind
        source = SourceRingBuffer(data=np.ones((1000, 4)))
        dense = Dense(weights=np.eye(1000))
        lif = LIF(shape=(1000,), du=0.1, dv=0.1, vth=1.0)
        source.s_out.connect(dense.s_in)
        dense.a_out.connect(lif.a_in)
        cfg = RunConfig(select_tag="floating_pt", workers="per_process", transport=transport)
        source.run(RunSteps(5), cfg)
        dense.weights.set(np.full((1000, 1000), 0.5))  # 8 MB: a large control message
        source.run(RunSteps(5), cfg)
        source.stop()
    # A joined Python thread (the tcp run's ZAP authenticator) may still be listed for a
    # moment while its OS thread exits: give it a second to go.
    deadline = time.monotonic() + 1.0
    while len(os.listdir("/proc/self/task")) > 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    print(len(threads_at_fork), max(threads_at_fork), len(os.listdir("/proc/self/task")))
""")


def test_workers_are_forked_while_the_user_process_runs_one_thread():
    # A fork of a process that runs threads may deadlock the child (Python 3.12+ warns).
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", THREADS_AT_FORK], capture_output=True,
                         text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    forks, most_threads, threads_after = map(int, out.stdout.split())
    assert forks == 6 and most_threads == 1 and threads_after == 1, out.stdout


def _fan_out(sinks: int):
    source = SourceRingBuffer(data=np.ones((2, 4)))
    for _ in range(sinks):
        sink = SinkRingBuffer(shape=(2,), buffer=4)
        source.s_out.connect(sink.a_in)
    return source


def _our_workers():
    return [p for p in multiprocessing.active_children() if p.name.startswith("lava_lite")]


def test_ctrl_c_between_fork_and_bind_propagates_and_ends_the_workers(monkeypatch):
    # Workers are forked before the coordinator's ZeroMQ exists: a Ctrl-C in that window
    # must reach the user as such, and the workers waiting for the endpoint must end.
    parent, real = os.getpid(), Network.start_authenticator

    def interrupted(self, context):
        if os.getpid() == parent:
            raise KeyboardInterrupt
        return real(self, context)

    monkeypatch.setattr(Network, "start_authenticator", interrupted)
    source = _fan_out(2)
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        source.run(RunSteps(2), RunConfig(workers="per_process"))
    assert not _our_workers() and time.monotonic() - start < 2.0


def test_workers_end_at_once_when_the_coordinator_cannot_bind(monkeypatch):
    parent, real = os.getpid(), Network.bind

    def failing(self, sock, name):
        if os.getpid() == parent and name == "control":
            raise zmq.ZMQError(zmq.EADDRINUSE)
        return real(self, sock, name)

    monkeypatch.setattr(Network, "bind", failing)
    source = _fan_out(5)  # six workers, each waiting for the control endpoint
    start = time.monotonic()
    with pytest.raises(zmq.ZMQError):
        source.run(RunSteps(2), RunConfig(workers="per_process"))
    # they see their pipe close and return, rather than wait out a grace period each
    assert not _our_workers() and time.monotonic() - start < 2.0

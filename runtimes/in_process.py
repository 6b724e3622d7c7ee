"""In-process runtime (``RunConfig(workers=0)``): every model runs in the user's process.

No ZeroMQ and no copies between Processes: for debugging, notebooks and small networks.
Models are built and stepped by one thread of the runtime's own, which lives as long as the
run, so that non-blocking runs, pause and Ctrl-C behave as with worker processes, and a model
whose construction or step never returns is reported (RunTimeoutError naming it) instead of
hanging the caller. Python threads cannot be killed: such a model's thread is left behind (a
daemon); use worker processes for models that may hang.
"""
from __future__ import annotations

import queue
import threading
import time

import numpy as np

from lava_lite.errors import RunTimeoutError
from lava_lite.plan import Plan
from lava_lite.backends import register_runtime
from lava_lite.runtimes.executor import Executor
from lava_lite.runtimes.orphans import end_cleanly_on_signals
from lava_lite.runtimes.watch import RunWatch

STOP_GRACE_SECONDS = 1.0
STARTUP_TIMEOUT_SECONDS = 30.0  # default bound on a start without construction progress
NOT_BUILT = -1  # progress of a Process whose model is not constructed yet
POLL_SECONDS = 0.1


class InProcessRuntime:
    def __init__(self, plan: Plan, timeout: float | None = None,
                 show_progress: bool | None = None, transport: str = "ipc"):
        # ``transport`` is accepted like every runtime's options; nothing here uses sockets.
        self.plan = plan
        self.startup_timeout = STARTUP_TIMEOUT_SECONDS if timeout is None else timeout
        self.watch = RunWatch(np.full(len(plan.processes), NOT_BUILT, np.int64),
                              [p.name for p in plan.processes], timeout, show_progress)
        self.executor: Executor | None = None
        self._thread: threading.Thread | None = None
        self._jobs: queue.Queue = queue.Queue()
        self._idle = threading.Event()
        self._idle.set()
        self._halt = threading.Event()
        self._error: BaseException | None = None
        self.requested: str | None = None  # what a model asked for at the end of the last run

    @property
    def current_step(self) -> int:
        return 0 if self.executor is None else self.executor.step

    # -- the runtime's thread --------------------------------------------------------------
    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job()
            except BaseException as exc:  # handed to the caller of wait()
                self._error = exc
            finally:
                self._idle.set()

    def _submit(self, job) -> None:
        self._error = None
        self._idle.clear()
        self._jobs.put(job)

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        end_cleanly_on_signals()
        self._thread = threading.Thread(target=self._serve, name="lava_lite-in-process",
                                        daemon=True)
        self._thread.start()
        try:
            self._submit(self._build)
            self._wait_for_build()
            self._raise_error()
        except BaseException:
            self.stop()
            raise

    def _build(self) -> None:
        self.executor = Executor(self.plan, [p.id for p in self.plan.processes],
                                 progress=self.watch.progress)

    def _wait_for_build(self) -> None:
        """Wait until the models are built; RunTimeoutError naming the Process under
        construction if none finished for ``startup_timeout`` seconds."""
        built = -1
        while not self._idle.wait(POLL_SECONDS):
            now = int(np.count_nonzero(self.watch.progress != NOT_BUILT))
            if now != built:
                built, deadline = now, time.monotonic() + self.startup_timeout
            elif time.monotonic() > deadline:
                stuck = next(self.plan.process(pid).name for pid in self.plan.schedule
                             if self.watch.progress[pid] == NOT_BUILT)
                raise RunTimeoutError(f"the model construction of '{stuck}' made no progress "
                                      f"for {self.startup_timeout:g} s (a model __init__ that "
                                      f"does not return?); its thread is left behind")

    def run(self, num_steps: int | None) -> None:
        target = None if num_steps is None else self.executor.step + num_steps
        self.watch.begin(target)
        self._halt.clear()
        self.requested = None
        self._submit(lambda: self._loop(target))

    def _loop(self, target: int | None) -> None:
        executor, halt = self.executor, self._halt
        controlled = executor.has_controllers
        while (target is None or executor.step < target) and not halt.is_set():
            executor.run_step()
            if controlled:
                self.requested = executor.run_request()
                if self.requested:
                    break

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the run's end (RunTimeoutError after ``timeout`` seconds)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while not self._idle.wait(POLL_SECONDS):
                self.watch.check()
                if deadline is not None and time.monotonic() > deadline:
                    raise RunTimeoutError(f"the run did not pause within {timeout:g} s")
        finally:
            self.watch.end()
        self._raise_error()

    def interrupt(self) -> None:
        """Ask the run to pause now (from any thread); ``wait`` then returns."""
        self._halt.set()

    def pause(self, timeout: float | None = None) -> None:
        self._halt.set()
        self.wait(timeout)

    def stop(self) -> None:
        """End the run: devices are released by the runtime's thread (a chip emulator it
        started dies with that thread), or here if that thread is stuck in a model (or is
        the caller: a finalizer run by a collection in that thread)."""
        self._halt.set()
        thread, self._thread = self._thread, None
        if thread is None:
            return
        if self.executor is not None:
            self._jobs.put(self.executor.close)
        self._jobs.put(None)
        if thread is not threading.current_thread():
            # A model stuck in an endless loop cannot be interrupted in this process; its
            # daemon thread is left behind (use worker processes to be able to end it).
            thread.join(STOP_GRACE_SECONDS)
            if not thread.is_alive():
                return
        if self.executor is not None:
            self.executor.close()

    # -- state -----------------------------------------------------------------------------
    def get_var(self, process_id: int, name: str) -> np.ndarray:
        return self.executor.by_id[process_id].get_var(name)

    def set_var(self, process_id: int, name: str, value: np.ndarray) -> None:
        self.executor.by_id[process_id].set_var(name, value)

    def stats(self) -> tuple[dict[int, tuple[float, float]], list[list[int]]]:
        ids, rows = self.executor.stats()
        return {pid: tuple(row) for pid, row in zip(ids, rows.tolist())}, []

    def probe_data(self) -> dict[int, np.ndarray]:
        """The rows each probe recorded (``ProbeStore.recorded()``, copied: the live stores
        go on changing), by probe id."""
        return {pid: np.array(rows) for pid, rows in self.executor.probe_data().items()}

    def salvage(self, timeout: float) -> tuple[int, dict[int, np.ndarray]]:
        """After a failure: the last step run, and what the probes recorded until then."""
        if self.executor is None:
            return 0, {}
        return self.executor.step, self.probe_data()


register_runtime("in_process", InProcessRuntime)

"""In-process runtime (``RunConfig(workers=0)``): every model runs in the user's process.

No ZeroMQ and no copies between Processes: for debugging, notebooks and small networks.
Steps run on a background thread so that non-blocking runs, pause and Ctrl-C behave as with
worker processes.
"""
from __future__ import annotations

import threading

import numpy as np

from lava_lite.plan import Plan
from lava_lite.runtime_registry import register_runtime
from lava_lite.runtimes.executor import Executor
from lava_lite.runtimes.watch import RunWatch


STOP_GRACE_SECONDS = 1.0


class InProcessRuntime:
    def __init__(self, plan: Plan, timeout: float | None = None,
                 show_progress: bool | None = None, transport: str = "ipc"):
        # ``transport`` is accepted like every runtime's options; nothing here uses sockets.
        self.plan = plan
        self.watch = RunWatch(np.zeros(len(plan.processes), np.int64),
                              [p.name for p in plan.processes], timeout, show_progress)
        self.executor: Executor | None = None
        self._thread: threading.Thread | None = None
        self._halt = threading.Event()
        self._error: BaseException | None = None
        self.requested: str | None = None  # what a model asked for at the end of the last run

    @property
    def current_step(self) -> int:
        return 0 if self.executor is None else self.executor.step

    def start(self) -> None:
        self.executor = Executor(self.plan, [p.id for p in self.plan.processes],
                                 progress=self.watch.progress)

    def run(self, num_steps: int | None) -> None:
        target = None if num_steps is None else self.executor.step + num_steps
        self.watch.begin(target)
        self._halt.clear()
        self._error = None
        self.requested = None
        self._thread = threading.Thread(target=self._loop, args=(target,),
                                        name="lava_lite-in-process", daemon=True)
        self._thread.start()

    def _loop(self, target: int | None) -> None:
        executor, halt = self.executor, self._halt
        controlled = executor.has_controllers
        try:
            while (target is None or executor.step < target) and not halt.is_set():
                executor.run_step()
                if controlled:
                    self.requested = executor.run_request()
                    if self.requested:
                        break
        except BaseException as exc:  # handed to the caller of wait()
            self._error = exc

    def wait(self) -> None:
        if self._thread is not None:
            try:
                while self._thread.is_alive():
                    self._thread.join(0.1)
                    if self._thread.is_alive():
                        self.watch.check()
            finally:
                self.watch.end()
            self._thread = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def pause(self, timeout: float | None = None) -> None:
        self._halt.set()
        if timeout is not None and self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError("the run did not pause in time")
        self.wait()

    def stop(self) -> None:
        self._halt.set()
        if self._thread is not None:
            # A model stuck in an endless loop cannot be interrupted in this process; its
            # daemon thread is left behind (use worker processes to be able to end it).
            self._thread.join(STOP_GRACE_SECONDS)
            self._thread = None
        if self.executor is not None:
            self.executor.close()

    def get_var(self, process_id: int, name: str) -> np.ndarray:
        return self.executor.by_id[process_id].get_var(name)

    def set_var(self, process_id: int, name: str, value: np.ndarray) -> None:
        self.executor.by_id[process_id].set_var(name, value)

    def stats(self) -> tuple[dict[int, tuple[float, float]], list[list[int]]]:
        ids, rows = self.executor.stats()
        return {pid: tuple(row) for pid, row in zip(ids, rows.tolist())}, []

    def probe_data(self) -> dict[int, np.ndarray]:
        return {k: v.copy() for k, v in self.executor.probe_data().items()}


register_runtime("in_process", InProcessRuntime)

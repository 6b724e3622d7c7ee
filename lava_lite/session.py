"""Session: one compiled graph and its live runtime, shared by every Process of the graph.

Lifetime: a session that becomes unreachable (every Process of its graph, and its Monitors,
garbage) is stopped by a finalizer: its workers end and its sockets close before their
context, so a graph rebound without ``stop()`` never hangs the garbage collector.

Threads: one thread at a time uses the runtime (a lock). ``pause()`` or ``stop()`` called
from another thread while a run blocks in its own thread asks that thread to pause the run
(``runtime.interrupt()``); the blocked ``run``/``wait`` returns, then the pause is done or the
graph stopped. Every wait on the lock is bounded.
"""
from __future__ import annotations

import contextlib
import threading
import time
import warnings
import weakref

import numpy as np

from lava_lite.backends import create_runtime
from lava_lite.compiler import compile_graph
from lava_lite.errors import RunStateError, RunTimeoutError
from lava_lite.model import REGISTRY
from lava_lite.probe_data import assemble
from lava_lite.run_config import MAX_TIME_STEP, RunConfig, RunSteps
from lava_lite.stats import ProcessStats, RunStats, WorkerStats
from lava_lite.value_checks import check_value, refuses_non_finite


# How long stop() waits for a running graph to pause before ending it regardless.
STOP_PAUSE_SECONDS = 2.0
# After a failure: how long the places still alive get to hand over their probe data.
SALVAGE_SECONDS = 1.0
# pause()/stop() from another thread: how long to wait for the running thread to let go,
# beyond the run's timeout (or, without one, this long alone).
HANDOVER_SECONDS = 10.0
HANDOVER_POLL_SECONDS = 0.05

# Errors that refuse one request and leave the run intact.
_REFUSED_REQUESTS = (RunStateError, ValueError, TypeError, IndexError, KeyError)


class Session:
    """Compiles once, starts the runtime once; each ``run`` continues from the live state."""

    def __init__(self, compiled, run_cfg: RunConfig, runtime):
        self.compiled = compiled
        self.plan = compiled.plan
        self.run_cfg = run_cfg
        self.runtime = runtime
        self.running = False
        self.stopped = False
        self._final_probe_data: dict[int, np.ndarray] | None = None
        self._probe_cache: dict[int, np.ndarray] | None = None  # as fetched since the last run
        self.ended_by_model: str | None = None  # why no further run is allowed
        self.final_step: int | None = None
        self.lost_probes: set[int] = set()  # probes whose data died with their worker
        self._lock = threading.RLock()
        # Stops the runtime when the session becomes garbage; holds the runtime, not us.
        self._finalizer = weakref.finalize(self, runtime.stop)

    @classmethod
    def start(cls, process, run_cfg: RunConfig | None, condition) -> "Session":
        """Compile the graph of ``process``, start its runtime and run ``condition``.

        The graph's Processes belong to the session (and its lock is held) before the
        runtime starts, so a ``pause``/``stop`` from another thread during start-up waits
        for it and then reaches the run."""
        run_cfg = RunConfig() if run_cfg is None else run_cfg
        if not isinstance(run_cfg, RunConfig):
            raise TypeError(f"{process.name}.run: run_cfg must be a RunConfig, got {run_cfg!r}")
        compiled = compile_graph(process, run_cfg)
        for member in compiled.graph:
            if member._session is not None:
                raise RunStateError(f"'{member.name}' already belongs to a compiled graph "
                                    f"run from another Process; stop that one first")
        runtime = create_runtime(compiled.plan.runtime, compiled.plan,
                                 timeout=run_cfg.timeout, show_progress=run_cfg.progress,
                                 transport=run_cfg.transport)
        session = cls(compiled, run_cfg, runtime)
        with session._lock:
            for member in compiled.graph:
                member._session = session
            try:
                runtime.start()
            except BaseException:  # the graph may be run anew
                for member in compiled.graph:
                    member._session = None
                session.stopped = True
                session._finalizer()
                raise
            session.run(condition)
        return session

    def check_same_config(self, run_cfg: RunConfig) -> None:
        if vars(run_cfg) != vars(self.run_cfg):
            raise RunStateError("this graph is already compiled with another RunConfig; "
                                "stop() it and build the network again to change models "
                                "or placement")

    # -- run control -----------------------------------------------------------------------
    def run(self, condition) -> None:
        with self._lock:
            self._require_not_stopped("run")
            if self.ended_by_model is not None:
                raise RunStateError(f"cannot run: {self.ended_by_model}; its state stays "
                                    f"readable until stop()")
            if self.running:
                raise RunStateError("the graph is already running; call wait() or pause() "
                                    "first")
            num_steps = condition.num_steps if isinstance(condition, RunSteps) else None
            if num_steps is not None and self.current_step + num_steps > MAX_TIME_STEP:
                raise ValueError(f"RunSteps: {num_steps} more steps from step "
                                 f"{self.current_step} would pass the last step a run can "
                                 f"reach (MAX_TIME_STEP = {MAX_TIME_STEP})")
            self._probe_cache = None
            self._guarded(self.runtime.run, num_steps)
            self.running = True
            if condition.blocking:
                self.wait()

    def wait(self) -> None:
        with self._lock:
            if self.running:
                self._guarded(self.runtime.wait)
                self._run_ended()

    def pause(self) -> None:
        with self._from_any_thread("pause"):
            if self.running:
                self._guarded(self.runtime.pause)
                self._run_ended()

    def _run_ended(self) -> None:
        self.running = False
        if self.runtime.requested == "stop":  # a model asked for it: no further runs, but
            self.ended_by_model = (             # Vars stay readable until stop()
                f"a model asked to stop the run at step {self.runtime.current_step}")

    def stop(self) -> None:
        with self._from_any_thread("stop"):
            if self.stopped:
                return
            try:
                if self.running:  # bring every Process to one step: what is kept is coherent
                    try:
                        self.runtime.pause(timeout=STOP_PAUSE_SECONDS)
                        self.running = False
                    except Exception:  # stuck or failed: end it anyway, keeping what we can
                        pass
                self.final_step = self.runtime.current_step
                if self.compiled.probe_ids and not self.running:
                    try:
                        self._final_probe_data = self._fetch_probe_data()
                    except Exception:  # a silent worker: what the others had is salvaged
                        pass
            finally:
                self.stopped = True
                self.running = False
                self._finalizer()  # stops the runtime

    @contextlib.contextmanager
    def _from_any_thread(self, what: str):
        """The session's lock, for a call that may come from another thread than the one
        running the graph: if that thread holds the lock (a blocking run), it is asked to
        pause the run and let go."""
        patience = HANDOVER_SECONDS + (self.run_cfg.timeout or 0)
        deadline = time.monotonic() + patience
        while not self._lock.acquire(timeout=HANDOVER_POLL_SECONDS):
            if time.monotonic() > deadline:
                raise RunTimeoutError(f"{what}: the thread running this graph did not let "
                                      f"go within {patience:g} s")
            self.runtime.interrupt()  # (again: a run that was just starting clears it)
        try:
            yield
        finally:
            self._lock.release()

    def _guarded(self, call, *args):
        """Run a runtime call; on a failure of the run (not a refused request such as a bad
        value for ``set``), keep what can be kept (the step reached, the probe data of the
        places still alive) and end every worker before raising."""
        try:
            return call(*args)
        except _REFUSED_REQUESTS:
            raise
        except BaseException:
            self._end_after_failure()
            raise

    def _end_after_failure(self) -> None:
        self.final_step = self.runtime.current_step
        try:
            self.final_step, data = self.runtime.salvage(SALVAGE_SECONDS)
            if self.compiled.probe_ids:
                self._final_probe_data = data
                self.lost_probes = {pid for ids in self.compiled.probe_ids.values()
                                    for pid in ids if pid not in data}
        except Exception:  # nothing to keep: the failure itself is what the user needs
            pass
        finally:
            self.stopped = True
            self.running = False
            self._finalizer()

    def _require_not_stopped(self, what: str) -> None:
        if self.stopped:
            raise RunStateError(f"cannot {what}: this graph was stopped (or failed); build "
                                f"the network again to run it anew")

    # -- state access ----------------------------------------------------------------------
    def live_runtime(self) -> "Session":
        """Where Var get/set go; after stop the state is gone and saying so beats a stale
        value."""
        self._require_not_stopped("read or write a Var (read Vars before stop())")
        return self

    def _require_idle(self, what: str) -> None:
        self._require_not_stopped(what)
        if self.running:
            raise RunStateError(f"cannot {what} while the graph runs; call wait() or pause() "
                                f"first")

    def _leaf_var(self, var):
        """The Var of a model-backed Process that ``var`` stands for (aliases followed)."""
        leaf = var.resolve_alias()
        if leaf.process not in self.compiled.process_ids:
            raise RunStateError(f"{var.qualified_name} has no live value: "
                                f"'{leaf.process.name}' runs no model (a hierarchical "
                                f"Process's Var needs an alias to a sub-Process's Var)")
        return leaf

    def get_var(self, var) -> np.ndarray:
        with self._lock:
            self._require_idle(f"get {var.qualified_name}")
            var = self._leaf_var(var)
            return self._guarded(self.runtime.get_var, self.compiled.process_ids[var.process],
                                 var.name)

    def set_var(self, var, value: np.ndarray) -> None:
        with self._lock:
            self._set_var(var, value)

    def _set_var(self, var, value: np.ndarray) -> None:
        self._require_idle(f"set {var.qualified_name}")
        var = self._leaf_var(var)
        process_id = self.compiled.process_ids[var.process]
        process_plan = self.plan.process(process_id)
        spec = next(v for v in process_plan.vars if v.name == var.name)
        check_value(f"Process '{var.process.name}', Var '{var.name}'", value,
                    np.dtype(spec.dtype), spec.precision,
                    finite=refuses_non_finite(process_plan.params))
        # The model's own compile-time checks, on the new value beside the initial others.
        inits = {v.name: v.init for v in process_plan.vars}
        REGISTRY.resolve(process_plan.model).validate(
            process_plan.name, process_plan.params, {**inits, var.name: value})
        self._guarded(self.runtime.set_var, process_id, var.name, value)

    def probe_data(self, observer) -> dict[int, np.ndarray]:
        """Recorded data of ``observer``'s probes, by probe id, as arrays the caller owns
        (``probe_data.assemble``); probes whose data was lost with a worker that died are left
        out, with a warning naming them."""
        with self._lock:
            if self._final_probe_data is not None:
                data = self._final_probe_data
            else:
                self._require_idle(f"read the data of {observer.name}")
                data = self._fetch_probe_data()
        ids = self.compiled.probe_ids.get(observer, [])
        lost = [pid for pid in ids if pid in self.lost_probes]
        if lost:
            targets = {probe.id: f"{p.name}.{probe.target}" for p in self.plan.processes
                       for probe in p.probes}
            warnings.warn(f"{observer.name}: the data of {', '.join(targets[i] for i in lost)} "
                          f"was lost with the worker that died", RuntimeWarning, stacklevel=3)
        probes = {probe.id: probe for p in self.plan.processes for probe in p.probes}
        return {pid: assemble(probes[pid], data[pid]) for pid in ids if pid in data}

    def _fetch_probe_data(self) -> dict[int, np.ndarray]:
        """The rows every probe recorded, fetched once per run (``get_data`` and ``stop``
        until the graph runs again use the same)."""
        if self._probe_cache is None:
            self._probe_cache = self._guarded(self.runtime.probe_data)
        return self._probe_cache

    def run_stats(self) -> RunStats:
        with self._lock:
            self._require_idle("read run stats")
            times, traffic = self._guarded(self.runtime.stats)
        processes = tuple(ProcessStats(p.name, p.worker, *times.get(p.id, (0.0, 0.0)))
                          for p in self.plan.processes)
        workers = tuple(WorkerStats(w, *counts) for w, counts in enumerate(traffic))
        return RunStats(self.runtime.current_step, processes, workers)

    @property
    def current_step(self) -> int:
        return self.final_step if self.stopped else self.runtime.current_step

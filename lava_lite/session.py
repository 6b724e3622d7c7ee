"""Session: one compiled graph and its live runtime, shared by every Process of the graph."""
from __future__ import annotations

import numpy as np

from lava_lite.compiler import compile_graph
from lava_lite.errors import RunStateError
from lava_lite.model import REGISTRY
from lava_lite.run_config import RunConfig, RunSteps
from lava_lite.runtime_registry import create_runtime
from lava_lite.stats import ProcessStats, RunStats, WorkerStats
from lava_lite.value_checks import check_value


# How long stop() waits for a running graph to pause before ending it regardless.
STOP_PAUSE_SECONDS = 2.0

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
        self.ended_by_model: str | None = None  # why no further run is allowed
        self.final_step: int | None = None

    @classmethod
    def create(cls, process, run_cfg: RunConfig | None) -> "Session":
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
        runtime.start()
        for member in compiled.graph:
            member._session = session
        return session

    def check_same_config(self, run_cfg: RunConfig) -> None:
        if vars(run_cfg) != vars(self.run_cfg):
            raise RunStateError("this graph is already compiled with another RunConfig; "
                                "stop() it and build the network again to change models "
                                "or placement")

    # -- run control -----------------------------------------------------------------------
    def run(self, condition) -> None:
        self._require_not_stopped("run")
        if self.ended_by_model is not None:
            raise RunStateError(f"cannot run: {self.ended_by_model}; its state stays readable "
                                f"until stop()")
        if self.running:
            raise RunStateError("the graph is already running; call wait() or pause() first")
        num_steps = condition.num_steps if isinstance(condition, RunSteps) else None
        self._guarded(self.runtime.run, num_steps)
        self.running = True
        if condition.blocking:
            self.wait()

    def wait(self) -> None:
        if self.running:
            self._guarded(self.runtime.wait)
            self._run_ended()

    def pause(self) -> None:
        if self.running:
            self._guarded(self.runtime.pause)
            self._run_ended()

    def _run_ended(self) -> None:
        self.running = False
        if self.runtime.requested == "stop":  # a model asked for it: no further runs, but
            self.ended_by_model = (             # Vars stay readable until stop()
                f"a model asked to stop the run at step {self.runtime.current_step}")

    def stop(self) -> None:
        if self.stopped:
            return
        try:
            if self.running:  # bring every Process to one step, so what is kept is coherent
                try:
                    self.runtime.pause(timeout=STOP_PAUSE_SECONDS)
                    self.running = False
                except Exception:  # stuck or failed: end it anyway, keeping what we can
                    pass
            self.final_step = self.runtime.current_step
            if self.compiled.probe_ids and not self.running:
                self._final_probe_data = self.runtime.probe_data()
        finally:
            self.stopped = True
            self.running = False
            self.runtime.stop()

    def _guarded(self, call, *args):
        """Run a runtime call; on a failure of the run (not a refused request such as a bad
        value for ``set``), end every worker before raising."""
        try:
            return call(*args)
        except _REFUSED_REQUESTS:
            raise
        except BaseException:
            self.stopped = True
            self.running = False
            self.runtime.stop()
            raise

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
        self._require_idle(f"get {var.qualified_name}")
        var = self._leaf_var(var)
        return self._guarded(self.runtime.get_var, self.compiled.process_ids[var.process],
                             var.name)

    def set_var(self, var, value: np.ndarray) -> None:
        self._require_idle(f"set {var.qualified_name}")
        var = self._leaf_var(var)
        process_id = self.compiled.process_ids[var.process]
        process_plan = self.plan.process(process_id)
        spec = next(v for v in process_plan.vars if v.name == var.name)
        check_value(f"Process '{var.process.name}', Var '{var.name}'", value,
                    np.dtype(spec.dtype), spec.precision)
        # The model's own compile-time checks, on the new value beside the initial others.
        inits = {v.name: v.init for v in process_plan.vars}
        REGISTRY.resolve(process_plan.model).validate(
            process_plan.name, process_plan.params, {**inits, var.name: value})
        self._guarded(self.runtime.set_var, process_id, var.name, value)

    def probe_data(self, observer) -> dict[int, np.ndarray]:
        """Recorded data of ``observer``'s probes, by probe id."""
        if self._final_probe_data is not None:
            data = self._final_probe_data
        else:
            self._require_idle(f"read the data of {observer.name}")
            data = self._guarded(self.runtime.probe_data)
        return {pid: data[pid] for pid in self.compiled.probe_ids.get(observer, [])}

    def run_stats(self) -> RunStats:
        self._require_idle("read run stats")
        times, traffic = self._guarded(self.runtime.stats)
        processes = tuple(ProcessStats(p.name, p.worker, *times.get(p.id, (0.0, 0.0)))
                          for p in self.plan.processes)
        workers = tuple(WorkerStats(w, *counts) for w, counts in enumerate(traffic))
        return RunStats(self.runtime.current_step, processes, workers)

    @property
    def current_step(self) -> int:
        return self.final_step if self.stopped else self.runtime.current_step

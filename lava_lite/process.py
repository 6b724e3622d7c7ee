"""Process: the user's unit of computation. It declares *what* (ports, Vars, parameters).

A Process holds no simulation state: once running, its Vars read and write through the
runtime session shared by every Process of the connected graph. The declaration part is
``lava_lite.abstract_process.AbstractProcess`` (what the compiler knows); this module adds
running the graph, on top of the compiler and the session.
"""
from __future__ import annotations

import threading
import time

from lava_lite.abstract_process import AbstractProcess
from lava_lite.compiler import compile_graph
from lava_lite.errors import RunStateError
from lava_lite.run_config import RunCondition, RunConfig
from lava_lite.session import Session

# pause()/stop() while another thread's run() compiles the graph: how long to wait for it.
COMPILE_WAIT_SECONDS = 60.0


def _check_condition(process, condition) -> None:
    if not isinstance(condition, RunCondition):
        raise TypeError(f"{process.name}.run needs a condition such as "
                        f"RunSteps(num_steps=10) or RunContinuous(), got {condition!r}")


class Process(AbstractProcess):
    """Base class of all Processes. Subclasses declare ports and Vars as attributes.

    ``run`` compiles the whole connected graph once and starts its runtime; later calls
    continue from the live state. ``stop`` (or leaving a ``with`` block) ends every worker.

    Parameters
    ----------
    name : str, optional
        Unique within its graph; default ``"<Class>_<creation index>"``. A child built by a
        SubProcessModel without a name is named ``"<parent>.<attribute>"``.
    """

    def __init__(self, *, name: str | None = None):
        super().__init__(name=name)
        self._session = None
        self._compiling = threading.Event()  # set while run() compiles this Process's graph

    # -- execution -------------------------------------------------------------------------
    def run(self, condition=None, run_cfg=None) -> None:
        """Run the graph this Process belongs to.

        Parameters
        ----------
        condition : RunSteps or RunContinuous
            How long.
        run_cfg : RunConfig, optional
            Which models and where; only on the first run (default ``RunConfig()``).
        """
        session = self._session
        if session is not None:
            _check_condition(self, condition)
            if run_cfg is not None and run_cfg is not session.run_cfg:
                session.check_same_config(run_cfg)
            session.run(condition)
            return
        self._compiling.set()  # from here on, pause()/stop() wait for this run's session
        try:
            _check_condition(self, condition)
            Session.start(self, run_cfg, condition)
        finally:
            self._compiling.clear()

    def wait(self) -> None:
        """Block until a non-blocking run ends."""
        if self._session is not None:
            self._session.wait()

    def pause(self) -> None:
        """Pause a running graph at a step every worker reaches; ``run`` continues it. From
        another thread than a blocking ``run``, that ``run`` returns once paused."""
        session = self._session_once_compiled()
        if session is not None:
            session.pause()

    def stop(self) -> None:
        """End the run (pausing it first if it is running) and every worker. Monitor data and
        ``current_step`` stay readable; Vars do not (their state was in the workers). From
        another thread than a blocking ``run``, that ``run`` returns."""
        session = self._session_once_compiled()
        if session is not None:
            session.stop()

    def _session_once_compiled(self):
        """The session; if another thread's ``run`` is compiling this Process's graph, wait
        (bounded) until it has a session, so that pause/stop reach that run."""
        deadline = time.monotonic() + COMPILE_WAIT_SECONDS
        while self._session is None and self._compiling.is_set() and \
                time.monotonic() < deadline:
            time.sleep(0.005)
        return self._session

    @property
    def current_step(self) -> int:
        """The last time step the graph completed (0 before the first run); after a
        non-blocking run, as of the last wait/pause."""
        return 0 if self._session is None else self._session.current_step

    def compile(self, run_cfg=None):
        """The plan ``run`` would execute for this graph (or is executing): which model each
        Process gets and why, placement, channels. ``print(plan.summary())`` shows it.

        Parameters
        ----------
        run_cfg : RunConfig, optional
            Default ``RunConfig()``; ignored once the graph runs.
        """
        if self._session is not None:
            return self._session.plan
        return compile_graph(self, RunConfig() if run_cfg is None else run_cfg).plan

    def run_stats(self):
        """Where the time went so far: per Process compute and wait seconds, per worker
        messages and bytes. ``print`` it for a table."""
        if self._session is None:
            raise RunStateError(f"{self.name}.run_stats: the network has not run yet")
        return self._session.run_stats()

    def _active_runtime(self):
        return None if self._session is None else self._session.live_runtime()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

"""Process: the user's unit of computation. It declares *what* (ports, Vars, parameters).

A Process holds no simulation state: once running, its Vars read and write through the
runtime session shared by every Process of the connected graph.
"""
from __future__ import annotations

import functools
import inspect
import itertools
import threading
import time

from lava_lite.errors import RunStateError
from lava_lite.members import ProcessMember, check_name_length

_process_ids = itertools.count()
# pause()/stop() while another thread's run() compiles the graph: how long to wait for it.
COMPILE_WAIT_SECONDS = 60.0


def _reject_unknown_keywords(init, cls):
    """Wrap a Process ``__init__`` so an unknown keyword names the Process and the key."""
    signature = inspect.signature(init)
    if any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        return init
    accepted = [n for n, p in signature.parameters.items()
                if n != "self" and p.kind is not p.VAR_POSITIONAL]

    @functools.wraps(init)
    def checked_init(self, *args, **kwargs):
        unknown = sorted(k for k in kwargs if k not in signature.parameters)
        if unknown:
            raise TypeError(
                f"{type(self).__name__}: unknown parameter{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(map(repr, unknown))}; accepted: {', '.join(accepted)}")
        try:
            init(self, *args, **kwargs)
        except (TypeError, ValueError) as exc:
            # e.g. a Var whose init does not fit its shape: say which Process was being built,
            # unless the message does already; keep the traceback to the failing line.
            name, kind, text = self.__dict__.get("name"), type(self).__name__, str(exc)
            named_already = text.startswith(("Process '", f"{kind}:")) or bool(name) and (
                f"'{name}'" in text or text.startswith((f"{name}:", f"{name}.")))
            if type(exc) not in (TypeError, ValueError) or named_already:
                raise
            where = f"Process '{name}' ({kind})" if name else kind
            raise type(exc)(f"{where}: {text}").with_traceback(exc.__traceback__) from None

    return checked_init


def _check_condition(process, condition) -> None:
    from lava_lite.run_config import RunCondition  # local: the run config needs Processes

    if not isinstance(condition, RunCondition):
        raise TypeError(f"{process.name}.run needs a condition such as "
                        f"RunSteps(num_steps=10) or RunContinuous(), got {condition!r}")


class Process:
    """Base class of all Processes. Subclasses declare ports and Vars as attributes.

    ``run`` compiles the whole connected graph once and starts its runtime; later calls
    continue from the live state. ``stop`` (or leaving a ``with`` block) ends every worker.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _reject_unknown_keywords(cls.__dict__["__init__"], cls)

    def __init__(self, *, name: str | None = None):
        object.__setattr__(self, "_members", {})
        self._creation_index = next(_process_ids)
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"{type(self).__name__}: name must be a non-empty string, "
                            f"got {name!r}")
        if name is not None:
            check_name_length(name, "name", type(self).__name__)
        self.name = name or f"{type(self).__name__}_{self._creation_index}"
        self.proc_params: dict = {}
        self._observers: list[Process] = []  # probing Processes watching this one
        self._implicit_ports: list = []  # VarPorts made by RefPort.connect_var
        self._session = None
        self._compiling = threading.Event()  # set while run() compiles this Process's graph

    def __setattr__(self, key, value):
        if isinstance(value, ProcessMember):
            members = self.__dict__.get("_members")
            if members is None:
                raise RuntimeError(f"{type(self).__name__}: call super().__init__() before "
                                   f"declaring ports and Vars")
            if value.process is not None and value.process is not self:
                raise ValueError(f"{value.qualified_name} already belongs to another Process")
            value.attach(self, key)
            members[key] = value
        object.__setattr__(self, key, value)

    # -- introspection ---------------------------------------------------------------------
    @property
    def members(self) -> dict[str, ProcessMember]:
        """Ports and Vars by attribute name, in declaration order."""
        return dict(self._members)

    def members_of(self, kind: type) -> dict[str, ProcessMember]:
        return {n: m for n, m in self._members.items() if isinstance(m, kind)}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} '{self.name}'>"

    # -- execution -------------------------------------------------------------------------
    def run(self, condition=None, run_cfg=None) -> None:
        """Run the graph this Process belongs to; see RunSteps and RunContinuous."""
        session = self._session
        if session is not None:
            _check_condition(self, condition)
            if run_cfg is not None and run_cfg is not session.run_cfg:
                session.check_same_config(run_cfg)
            session.run(condition)
            return
        self._compiling.set()  # from here on, pause()/stop() wait for this run's session
        try:
            from lava_lite.session import Session  # local: sessions need the compiler

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
        Process gets and why, placement, channels. ``print(plan.summary())`` shows it."""
        if self._session is not None:
            return self._session.plan
        from lava_lite.compiler import compile_graph
        from lava_lite.run_config import RunConfig

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

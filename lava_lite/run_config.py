"""Run conditions (how long) and RunConfig (which models, how placed)."""
from __future__ import annotations

import numbers

#: The last time step a run may reach: steps are signed 64-bit integers on the wire.
MAX_TIME_STEP = 2**63 - 1


class RunCondition:
    """How long a run lasts; ``blocking=False`` returns at once (then wait/pause/stop)."""

    def __init__(self, blocking: bool = True):
        if not isinstance(blocking, bool):
            raise TypeError(f"{type(self).__name__}: blocking must be True or False, "
                            f"got {blocking!r}")
        self.blocking = blocking


class RunSteps(RunCondition):
    """Run ``num_steps`` more time steps."""

    def __init__(self, num_steps: int, blocking: bool = True):
        super().__init__(blocking)
        if isinstance(num_steps, bool) or not isinstance(num_steps, numbers.Integral):
            raise TypeError(f"RunSteps: num_steps must be an int, got {num_steps!r}")
        if num_steps <= 0:
            raise ValueError(f"RunSteps: num_steps must be at least 1, got {num_steps}")
        if num_steps > MAX_TIME_STEP:
            raise ValueError(f"RunSteps: num_steps must be at most 2**63 - 1 = {MAX_TIME_STEP} "
                             f"(MAX_TIME_STEP, the last step a run can reach), got {num_steps}")
        self.num_steps = int(num_steps)

    def __repr__(self) -> str:
        return f"RunSteps(num_steps={self.num_steps}, blocking={self.blocking})"


class RunContinuous(RunCondition):
    """Run until ``pause()`` or ``stop()``; never blocks the caller."""

    def __init__(self):
        super().__init__(blocking=False)

    def __repr__(self) -> str:
        return "RunContinuous()"


PER_PROCESS = "per_process"
TARGETS = (None, "cpu", "chip")


class RunConfig:
    """Chooses one model per Process and places Processes on workers.

    Model choice, in order: ``exception_proc_model_map`` (keyed by Process class or instance),
    then the first registered model carrying ``select_tag`` (a CompileError if none does),
    or, without ``select_tag``, the first registered model.

    ``target``: ``None`` (any registered model, as above), ``"cpu"`` (only models that run on
    the host) or ``"chip"``: each Process gets a model requiring ``NeuroCore`` where one is
    registered (run by the emulated neuromorphic chip, ``lava_lite.runtimes.chip``) and its
    CPU ``fixed_pt`` model (or one tagged ``select_tag``) otherwise. ``chip_options``: how to
    reach and size the chip: ``address`` (an emulator already running, ``ipc://...`` or
    ``tcp://...``; default: start one), ``num_cores``, ``neurons_per_core``,
    ``synapses_per_core`` (limits; defaults like Loihi's: 128, 1024, 65536) and ``timeout``
    (seconds to wait for the chip's answer; see ``lava_lite.runtimes.chip``).

    ``workers``: ``None`` lets the runtime choose, ``N`` packs Processes into N worker OS
    processes, ``"per_process"`` gives each its own, ``0`` runs everything in this process
    (no ZeroMQ; for debugging and notebooks).

    ``seed`` is the root of every per-Process random generator: same seed, same results,
    whatever the placement.

    ``timeout``: seconds a run may go without any Process finishing a step before it is
    ended with RunTimeoutError naming the Processes that are stuck. ``progress``: print
    the step and steps/s of long blocking runs (None: only when stderr is a terminal).

    ``transport``: how workers talk: ``"ipc"`` (Unix sockets in a directory only you can
    enter) or ``"tcp"`` (loopback TCP authenticated with CurveZMQ keys made for the run).
    """

    def __init__(self, select_tag: str | None = None, exception_proc_model_map: dict | None = None,
                 select_sub_proc_model: bool = False, workers: int | str | None = None,
                 seed: int = 0, timeout: float | None = None, progress: bool | None = None,
                 transport: str = "ipc", target: str | None = None,
                 chip_options: dict | None = None):
        if select_tag is not None and not isinstance(select_tag, str):
            raise TypeError(f"RunConfig: select_tag must be a string, got {select_tag!r}")
        if exception_proc_model_map is not None and not isinstance(exception_proc_model_map, dict):
            raise TypeError("RunConfig: exception_proc_model_map must be a dict "
                            "{Process class or instance: ProcessModel class}")
        if workers is not None and workers != PER_PROCESS and (
                isinstance(workers, bool) or not isinstance(workers, numbers.Integral)
                or workers < 0):
            raise ValueError(f"RunConfig: workers must be None, a count >= 0 or "
                             f"'{PER_PROCESS}', got {workers!r}")
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(f"RunConfig: seed must be a non-negative int, got {seed!r}")
        if transport not in ("ipc", "tcp"):
            raise ValueError(f"RunConfig: transport must be 'ipc' or 'tcp', got {transport!r}")
        if target not in TARGETS:
            raise ValueError(f"RunConfig: target must be None, 'cpu' or 'chip', got {target!r}")
        if chip_options is not None and not (isinstance(chip_options, dict) and all(
                isinstance(k, str) for k in chip_options)):
            raise TypeError(f"RunConfig: chip_options must be a dict with string keys, "
                            f"got {chip_options!r}")
        if progress is not None and not isinstance(progress, bool):
            raise TypeError(f"RunConfig: progress must be True, False or None, got {progress!r}")
        if timeout is not None and not (isinstance(timeout, numbers.Real) and timeout > 0):
            raise ValueError(f"RunConfig: timeout must be a positive number of seconds, "
                             f"got {timeout!r}")
        self.select_tag = select_tag
        self.exception_proc_model_map = dict(exception_proc_model_map or {})
        self.select_sub_proc_model = bool(select_sub_proc_model)
        self.workers = workers
        self.seed = int(seed)
        self.timeout = timeout
        self.progress = progress
        self.transport = transport
        self.target = target
        self.chip_options = dict(chip_options or {})

    def __repr__(self) -> str:
        target = f", target={self.target!r}" if self.target else ""
        return (f"RunConfig(select_tag={self.select_tag!r}, workers={self.workers!r}, "
                f"seed={self.seed}{target})")

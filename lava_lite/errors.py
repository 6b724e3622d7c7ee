"""Exception types raised by lava_lite, each naming the object at fault."""


class LavaLiteError(Exception):
    """Base class of every error lava_lite raises on purpose."""


class CompileError(LavaLiteError, ValueError):
    """The graph or the RunConfig cannot be turned into an executable plan."""


class ProcessModelError(LavaLiteError, RuntimeError):
    """A ProcessModel raised while running; carries the worker's traceback text."""

    def __init__(self, process_name: str, model: str, phase: str, time_step: int,
                 traceback_text: str, worker: int | None = None):
        where = f"in worker {worker} " if worker is not None else ""
        when = f"at time step {time_step}" if time_step else "before the first step"
        super().__init__(
            f"Process '{process_name}' (model {model}) failed {where}in {phase} {when}."
            f"\n--- traceback from the model ---\n{traceback_text}")
        self.process_name = process_name
        self.model = model
        self.phase = phase
        self.time_step = time_step
        self.traceback_text = traceback_text
        self.worker = worker


class WorkerError(LavaLiteError, RuntimeError):
    """A worker OS process failed outside any model, or sent what cannot be read."""


class WorkerDiedError(WorkerError):
    """A worker OS process ended without being asked to."""


class RunStateError(LavaLiteError, RuntimeError):
    """An operation the current run state does not allow (get while running, run after stop)."""


class RunTimeoutError(LavaLiteError, TimeoutError):
    """A run made no progress for longer than the configured timeout."""

"""Run conditions (how long) and RunConfig (which models, how placed), validated by pydantic
schemas whose errors name the field."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr,
                      ValidationError, model_validator)

from lava_lite import backends
from lava_lite.validation import Flag, converted, flag, real_number, whole_number, wrong_kind

#: The last time step a run may reach: steps are signed 64-bit integers on the wire.
MAX_TIME_STEP = 2**63 - 1


class _Validated(BaseModel):
    """A schema whose constructor raises TypeError/ValueError naming the class and field."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True,
                              validate_assignment=True)

    def __init__(self, **values):
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise converted(exc, type(self).__name__) from None


class RunCondition(_Validated):
    """How long a run lasts; ``blocking=False`` returns at once (then wait/pause/stop)."""

    blocking: Flag = True

    def __init__(self, blocking: bool = True, **values):
        super().__init__(blocking=blocking, **values)


def _step_count(value: Any) -> Any:
    value = whole_number(value)
    if value < 1:
        raise ValueError(f"must be at least 1, got {value}")
    if value > MAX_TIME_STEP:
        raise ValueError(f"must be at most 2**63 - 1 = {MAX_TIME_STEP} (MAX_TIME_STEP, the "
                         f"last step a run can reach), got {value}")
    return value


class RunSteps(RunCondition):
    """Run ``num_steps`` more time steps.

    Parameters
    ----------
    num_steps : int
        How many steps, 1 to MAX_TIME_STEP.
    blocking : bool
        Wait for the end (default); False returns at once.
    """

    num_steps: Annotated[int, BeforeValidator(_step_count)]

    def __init__(self, num_steps: int, blocking: bool = True):
        super().__init__(blocking=blocking, num_steps=num_steps)

    def __repr__(self) -> str:
        return f"RunSteps(num_steps={self.num_steps}, blocking={self.blocking})"


class RunContinuous(RunCondition):
    """Run until ``pause()`` or ``stop()``; never blocks the caller."""

    def __init__(self):
        super().__init__(blocking=False)

    def __repr__(self) -> str:
        return "RunContinuous()"


PER_PROCESS = "per_process"


def _workers(value: Any) -> Any:
    if value is None or value == PER_PROCESS:
        return value
    if isinstance(value, bool) or not hasattr(value, "__index__") or value < 0:
        raise ValueError(f"must be None, a count >= 0 or '{PER_PROCESS}', got {value!r}")
    return int(value)


def _optional(validator):
    return lambda value: None if value is None else validator(value)


def _options(value: Any) -> Any:
    if value is None:
        return {}
    if not (isinstance(value, dict) and all(isinstance(k, str) for k in value)):
        raise wrong_kind("a dict with string keys", value)
    return dict(value)


def _model_map(value: Any) -> Any:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise wrong_kind("a dict {Process class or instance: ProcessModel class}", value)
    return dict(value)


def _tag(value: Any) -> Any:
    if value is not None and not isinstance(value, str):
        raise wrong_kind("a string", value)
    return value


def _seed(value: Any) -> Any:
    value = whole_number(value)
    if value < 0:
        raise ValueError(f"must be a non-negative int, got {value}")
    return value


def _timeout(value: Any) -> Any:
    if value is None:
        return None
    value = real_number(value)
    if not value > 0:
        raise ValueError(f"must be a positive number of seconds, got {value!r}")
    return value


class RunConfig(_Validated):
    """Chooses one model per Process and places Processes on workers.

    Model choice, in order: ``exception_proc_model_map`` (keyed by Process class or instance),
    then the first registered model carrying ``select_tag`` (a CompileError if none does),
    or, without ``select_tag``, the first registered model.

    ``target``: ``None`` (any registered model, as above), ``"cpu"`` (only models that run on
    the host) or a registered device (``lava_lite.backends``), such as ``"chip"``: each
    Process gets a model the device runs (for the chip: requiring ``NeuroCore``, run by the
    emulated neuromorphic chip, ``lava_lite.runtimes.chip``) where one is registered, and its
    CPU ``fixed_pt`` model (or one tagged ``select_tag``) otherwise. ``device_options``: the
    device's own options, checked by its schema; for the chip (``chip_options`` is accepted as
    another name for them): ``address`` (an emulator already running, ``ipc://...`` or
    ``tcp://...``; default: start one), ``keys``, ``num_cores``, ``neurons_per_core``,
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

    select_tag: Annotated[str | None, BeforeValidator(_tag)] = None
    exception_proc_model_map: Annotated[dict, BeforeValidator(_model_map)] = {}
    select_sub_proc_model: Flag = False
    workers: Annotated[int | str | None, BeforeValidator(_workers)] = None
    seed: Annotated[int, BeforeValidator(_seed)] = 0
    timeout: Annotated[float | None, BeforeValidator(_timeout)] = None
    progress: Annotated[bool | None, BeforeValidator(_optional(flag))] = None
    transport: Literal["ipc", "tcp"] = "ipc"
    target: str | None = None
    device_options: Annotated[dict, BeforeValidator(_options)] = Field(default_factory=dict)
    _options_keyword: str = PrivateAttr("device_options")

    def __init__(self, select_tag: str | None = None, exception_proc_model_map: dict | None = None,
                 select_sub_proc_model: bool = False, workers: int | str | None = None,
                 seed: int = 0, timeout: float | None = None, progress: bool | None = None,
                 transport: str = "ipc", target: str | None = None,
                 device_options: dict | None = None, chip_options: dict | None = None):
        if chip_options is not None:  # the chip's options under their older name
            if device_options is not None:
                raise ValueError("RunConfig: give device_options or chip_options, not both")
            if target not in (None, "chip"):
                raise ValueError(f"RunConfig: chip_options are for target 'chip', not "
                                 f"{target!r}; use device_options")
            device_options = chip_options
            if not isinstance(chip_options, dict):
                raise TypeError(f"RunConfig: chip_options must be a dict with string keys, "
                                f"got {chip_options!r}")
        keyword = "device_options" if chip_options is None else "chip_options"
        super().__init__(select_tag=select_tag, exception_proc_model_map=exception_proc_model_map,
                         select_sub_proc_model=select_sub_proc_model, workers=workers,
                         seed=seed, timeout=timeout, progress=progress, transport=transport,
                         target=target, device_options=device_options)
        self._options_keyword = keyword

    @model_validator(mode="after")
    def _known_target(self) -> "RunConfig":
        """The target is a host target or a registered device (whose schema checks the
        device options when the run compiles)."""
        if self.target in backends.HOST_TARGETS:
            if self.device_options:
                raise ValueError(f"device_options are for a device target, not "
                                 f"{self.target!r}")
        else:
            backends.device(self.target)
        return self

    @property
    def options_keyword(self) -> str:
        """How the device options are named in messages (the keyword the user gave)."""
        return self._options_keyword

    def __repr__(self) -> str:
        target = f", target={self.target!r}" if self.target else ""
        return (f"RunConfig(select_tag={self.select_tag!r}, workers={self.workers!r}, "
                f"seed={self.seed}{target})")

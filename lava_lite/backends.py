"""Where runtimes and devices are found: open registries, filled by the built-in providers and
by plug-ins, so adding a backend adds files (or a package), not branches in existing code.

A **runtime** runs a plan (``"multiprocess"``, ``"in_process"``): constructed with a Plan and
options, it offers ``start()``, ``run(num_steps | None)`` (returns at once), ``wait()``,
``pause(timeout=None)``, ``interrupt()`` (from any thread), ``stop()``, ``get_var(pid,
name)``, ``set_var(pid, name, array)``, ``probe_data()``, ``salvage(timeout)``, ``stats()``,
``current_step`` and ``requested``. It raises lava_lite errors (ProcessModelError,
WorkerDiedError, RunTimeoutError, ...).

A **device** is what ``RunConfig(target=...)`` names: a backend that runs the models requiring
its ``resource`` (the emulated chip runs models requiring ``NeuroCore``) in a *partition* of
its own inside a runtime's place. It brings the schema of its ``device_options`` and a
compile-time check that refuses what it cannot run, naming the Process and the reason.

Plug-ins: a package declares an entry point in the group ``lava_lite.backends``; the
registries load every such entry point the first time a name is looked up that the built-in
providers do not know. The entry point is a callable (called once, with no arguments) or a
module whose import registers its devices and runtimes::

    [project.entry-points."lava_lite.backends"]
    mychip = "mychip.backend:register"
"""
from __future__ import annotations

import importlib
import warnings
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Callable

from pydantic import BaseModel, ValidationError

from lava_lite.errors import CompileError
from lava_lite.model import Resource

ENTRY_POINT_GROUP = "lava_lite.backends"
# Built-in providers: importing them registers the runtimes and devices lava_lite ships.
_PROVIDERS = ("lava_lite.runtimes",)
# Targets that need no device: any registered model, or host (CPU) models only.
HOST_TARGETS = (None, "cpu")


@dataclass(frozen=True)
class Device:
    """A backend that ``RunConfig(target=name)`` selects.

    Parameters
    ----------
    name : str
        What ``RunConfig(target=...)`` says.
    resource : type[Resource]
        Models that ``@requires`` this resource (or a subclass) run on the device.
    partition : type
        The runtime's partition class that runs those models together in one place (see
        ``lava_lite.runtimes.partition.Partition``).
    options : type[pydantic.BaseModel], optional
        Schema of ``RunConfig(device_options={...})``; unknown or bad options are refused
        when the RunConfig is made, naming the option.
    check : callable, optional
        ``check(plan, options)``, called with the finished plan and the validated options;
        raises CompileError (naming the Process, the resource and the limit) for what the
        device cannot run.
    host_tag : str
        Tag of the CPU model a Process gets where it has no model for this device.
    """

    name: str
    resource: type[Resource]
    partition: type
    options: type[BaseModel] | None = None
    check: Callable[[Any, BaseModel | None], None] | None = None
    host_tag: str = "fixed_pt"

    def parse_options(self, raw: dict, keyword: str = "device_options") -> BaseModel | None:
        """``raw`` validated by the device's schema; ValueError naming the option."""
        if self.options is None:
            if raw:
                raise ValueError(f"target '{self.name}' takes no {keyword}, got {sorted(raw)}")
            return None
        try:
            return self.options.model_validate(raw)
        except ValidationError as exc:
            error = exc.errors()[0]
            key = ".".join(map(str, error["loc"]))
            raise ValueError(f"{keyword}['{key}']: {error['msg']} (known options: "
                             f"{sorted(self.options.model_fields)})") from None


_RUNTIMES: dict[str, Callable] = {}
_DEVICES: dict[str, Device] = {}
_loaded: set[str] = set()  # "providers", "plugins": what has been loaded already


def register_runtime(name: str, factory: Callable) -> None:
    """Make runtime ``name`` available; ``factory(plan, **options)`` builds one."""
    _RUNTIMES[name] = factory


def register_device(device: Device) -> None:
    """Make ``device`` selectable as ``RunConfig(target=device.name)``."""
    if device.name in HOST_TARGETS:
        raise ValueError(f"register_device: '{device.name}' is reserved for host targets")
    if not (isinstance(device.resource, type) and issubclass(device.resource, Resource)):
        raise TypeError(f"register_device: resource of '{device.name}' must be a Resource "
                        f"subclass, got {device.resource!r}")
    _DEVICES[device.name] = device


def _load(missing: Callable[[], bool]) -> None:
    """Load the built-in providers, then, if ``missing()`` still holds, the plug-ins."""
    if "providers" not in _loaded:
        _loaded.add("providers")
        for module in _PROVIDERS:
            importlib.import_module(module)
    if missing() and "plugins" not in _loaded:
        _loaded.add("plugins")
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            try:
                loaded = entry.load()
                if callable(loaded):
                    loaded()
            except Exception as exc:  # one broken plug-in must not stop every run
                warnings.warn(f"lava_lite backend plug-in '{entry.name}' ({entry.value}) "
                              f"failed to load: {type(exc).__name__}: {exc}", RuntimeWarning,
                              stacklevel=3)


def create_runtime(name: str, plan, **options):
    """A new runtime ``name`` for ``plan``; ``options``: ``timeout``, ``show_progress``,
    ``transport`` (see RunConfig)."""
    _load(lambda: name not in _RUNTIMES)
    try:
        factory = _RUNTIMES[name]
    except KeyError:
        raise LookupError(f"no runtime named '{name}'; known: {sorted(_RUNTIMES)}") from None
    return factory(plan, **options)


def devices() -> dict[str, Device]:
    """Every registered device, by name (built-in and plug-ins)."""
    _load(lambda: True)
    return dict(_DEVICES)


def device(name: str) -> Device:
    """The device ``RunConfig(target=name)`` selects; ValueError naming the known ones."""
    _load(lambda: name not in _DEVICES)
    if name not in _DEVICES:
        known = ", ".join(repr(t) for t in (*HOST_TARGETS[1:], *sorted(_DEVICES)))
        raise ValueError(f"target must be None or one of {known} (registered devices), "
                         f"got {name!r}")
    return _DEVICES[name]


def device_of(model) -> Device | None:
    """The device that runs ``model`` (from the resources it requires); None for host
    models."""
    required = getattr(model, "required_resources", ())
    if not required:
        return None
    for candidate in devices().values():
        if any(issubclass(resource, candidate.resource) for resource in required):
            return candidate
    return None


def check_plan(plan, groups: dict[int, str], names: dict[int, str],
               keyword: str = "device_options") -> None:
    """Let each device the plan uses refuse, at compile time, what it cannot run: options
    its schema refuses (named as ``keyword`` gave them), then what its ``check`` refuses.

    Parameters
    ----------
    plan : Plan
        The finished plan.
    groups : dict
        The device of each Process that runs on one, by process id.
    names : dict
        Process names by id, for the error of a device that no backend provides.
    keyword : str
        How the user named the options (``device_options``, or ``chip_options``).
    """
    for name in sorted(set(groups.values())):
        found = _DEVICES.get(name)
        if found is None:
            raise CompileError(
                f"{sorted(names[p] for p, d in groups.items() if d == name)} have models for "
                f"the device '{name}', which no installed backend provides")
        try:
            options = found.parse_options(plan.device_options.get(name, {}), keyword)
        except ValueError as exc:
            raise CompileError(f"RunConfig: {exc}") from None
        if found.check is not None:
            found.check(plan, options)

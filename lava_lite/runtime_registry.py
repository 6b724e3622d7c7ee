"""Where runtimes are found by name. Adding a backend adds a module that registers itself.

A runtime is constructed with a Plan (and options) and offers: ``start()``,
``run(num_steps | None)``
(returns at once), ``wait()``, ``pause(timeout=None)``, ``stop()``, ``get_var(pid, name)``,
``set_var(pid, name, array)``, ``probe_data()``, ``stats()``, ``current_step`` and
``requested`` (None, or
"pause"/"stop" when a model ended the last run by asking for it). It raises
lava_lite errors (ProcessModelError, WorkerDiedError, ...) from ``wait``/``pause``.
"""
from __future__ import annotations

import importlib
from typing import Callable

_FACTORIES: dict[str, Callable] = {}
_PROVIDERS = ("lava_lite.runtimes",)


def register_runtime(name: str, factory: Callable) -> None:
    _FACTORIES[name] = factory


def create_runtime(name: str, plan, **options):
    """A new runtime for ``plan``; ``options``: ``timeout`` (seconds without progress before
    RunTimeoutError), ``show_progress`` (None: only on a terminal) and ``transport`` ("ipc"
    or "tcp")."""
    if name not in _FACTORIES:
        for module in _PROVIDERS:
            importlib.import_module(module)
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise LookupError(f"no runtime named '{name}'; known: {sorted(_FACTORIES)}") from None
    return factory(plan, **options)


# -- devices -------------------------------------------------------------------------------
_DEVICE_CHECKS: dict[str, Callable] = {}


def register_device(name: str, check: Callable) -> None:
    """Declare a device (a Resource's ``device``, e.g. "chip") that a runtime provides.

    ``check(plan, device)`` is called by the compiler with the finished plan; it raises
    CompileError, naming the Process, the resource and the limit, if the device cannot run
    the Processes the plan gives it (too large, unrepresentable)."""
    _DEVICE_CHECKS[name] = check


def device_check(name: str) -> Callable | None:
    """The check registered for device ``name`` (importing the runtime providers first, so
    the compiler needs no import of them), or None if no runtime provides that device."""
    if name not in _DEVICE_CHECKS:
        for module in _PROVIDERS:
            importlib.import_module(module)
    return _DEVICE_CHECKS.get(name)

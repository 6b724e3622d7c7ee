"""Where runtimes are found by name. Adding a backend adds a module that registers itself.

A runtime is constructed with a Plan (and options) and offers: ``start()``, ``run(num_steps | None)``
(returns at once), ``wait()``, ``pause()``, ``stop()``, ``get_var(pid, name)``,
``set_var(pid, name, array)``, ``probe_data()``, ``current_step`` and ``requested`` (None, or
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
    RunTimeoutError) and ``show_progress`` (None: only on a terminal)."""
    if name not in _FACTORIES:
        for module in _PROVIDERS:
            importlib.import_module(module)
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise LookupError(f"no runtime named '{name}'; known: {sorted(_FACTORIES)}") from None
    return factory(plan, **options)

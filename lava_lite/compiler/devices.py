"""Everything the compiler knows of devices and targets, in one place; the devices themselves
are found in the registry ``lava_lite.backends``.

- ``model_device``: which device (if any) runs a model, from the resources it requires;
- ``device_choice`` and ``host_models``: what ``RunConfig(target=...)`` does to model
  selection (``lava_lite.compiler.select`` calls them);
- ``group_devices`` (a pass): the Processes each device runs, which scheduling and placement
  treat as one unit;
- ``device_options`` and ``runtime_name``: the plan's device options and runtime;
- ``check_devices`` (a pass): each device refuses, at compile time, what it cannot run.
"""
from __future__ import annotations

from lava_lite import backends
from lava_lite.abstract_process import AbstractProcess
from lava_lite.backends import HOST_TARGETS
from lava_lite.compiler.state import CompileState
from lava_lite.errors import CompileError
from lava_lite.model import ProcessModel
from lava_lite.run_config import RunConfig


def model_device(model: type[ProcessModel]) -> str | None:
    """The device (e.g. "chip") whose partition runs ``model``.

    Parameters
    ----------
    model : type
        A ProcessModel class.

    Returns
    -------
    str or None
        The name of the registered device whose resource it requires; None for models that
        run on the host.
    """
    found = backends.device_of(model)
    return None if found is None else found.name


def device_choice(process: AbstractProcess, models: list[type[ProcessModel]],
                  run_cfg: RunConfig) -> tuple[type[ProcessModel], str] | None:
    """The model ``RunConfig(target=device)`` gives ``process``, and why; None for the host
    targets (None, "cpu"), which leave the choice to tags.

    For a device: the first model the device runs (carrying ``select_tag`` if one is
    given), else the first host model tagged ``select_tag`` or the device's ``host_tag``.

    Parameters
    ----------
    process : AbstractProcess
        The Process, named in errors.
    models : list of type
        Its registered leaf models, in registration order.
    run_cfg : RunConfig
        Its ``target`` and ``select_tag`` decide.
    """
    target, select_tag = run_cfg.target, run_cfg.select_tag
    if target in HOST_TARGETS:
        return None
    device = backends.device(target)
    for model in models:
        if model_device(model) == target and (select_tag is None or select_tag in model.tags):
            resource = next(r.__name__ for r in model.required_resources
                            if issubclass(r, device.resource))
            tagged = f" tagged '{select_tag}'" if select_tag else ""
            return model, (f"target '{target}': first registered model{tagged} requiring "
                           f"{resource}")
    host_tag = select_tag or device.host_tag
    for model in models:
        if model_device(model) is None and host_tag in model.tags:
            return model, (f"target '{target}': {type(process).__name__} has no model for "
                           f"the {target}, so the first CPU model tagged '{host_tag}'")
    raise CompileError(
        f"Process '{process.name}' ({type(process).__name__}) has neither a model for the "
        f"{target} nor a CPU model tagged '{host_tag}' (models: {[m.__name__ for m in models]})")


def host_models(process: AbstractProcess, models: list[type[ProcessModel]],
                run_cfg: RunConfig) -> list[type[ProcessModel]]:
    """The models a host target lets tags choose from: all of them for ``target=None``,
    those that run on the host for ``target="cpu"`` (a CompileError if there are none).

    Parameters
    ----------
    process : AbstractProcess
        The Process, named in errors.
    models : list of type
        Its registered leaf models.
    run_cfg : RunConfig
        Its ``target`` decides.
    """
    if run_cfg.target != "cpu":
        return models
    models = [m for m in models if model_device(m) is None]
    if not models:
        raise CompileError(f"Process '{process.name}' ({type(process).__name__}) has no "
                           f"model that runs on the CPU (target 'cpu')")
    return models


def group_devices(state: CompileState) -> None:
    """Pass: ``state.groups``, the device of every leaf that a device runs (by id)."""
    state.groups = {state.ids[p]: device for p in state.leaves
                    if (device := model_device(state.model(p)))}


def device_options(run_cfg: RunConfig, devices) -> dict[str, dict]:
    """The options of each device the plan uses: ``RunConfig.device_options`` for the
    target device, none for others (a model of another device chosen by
    ``exception_proc_model_map`` runs with its device's defaults).

    Parameters
    ----------
    run_cfg : RunConfig
        Where the options are given.
    devices : iterable of str
        The devices the plan uses.
    """
    return {d: dict(run_cfg.device_options) if d == run_cfg.target else {}
            for d in sorted(set(devices))}


def runtime_name(num_workers: int) -> str:
    """The runtime that runs a plan placed on ``num_workers`` workers: "in_process" for 0
    (``RunConfig(workers=0)``), else "multiprocess".

    Parameters
    ----------
    num_workers : int
        The plan's worker count.
    """
    return "in_process" if num_workers == 0 else "multiprocess"


def check_devices(state: CompileState) -> None:
    """Pass: let each device refuse, at compile time, what it cannot run in the finished
    plan (bad options, too large a network, parameters it cannot represent); see
    ``lava_lite.backends.check_plan``."""
    backends.check_plan(state.plan, state.groups, state.names, state.run_cfg.options_keyword)

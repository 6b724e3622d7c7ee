"""Model selection: the one place that decides which model a Process gets, and says why."""
from __future__ import annotations

from lava_lite.abstract_process import AbstractProcess
from lava_lite.compiler.devices import device_choice, host_models
from lava_lite.errors import CompileError
from lava_lite.model import REGISTRY, ProcessModel
from lava_lite.run_config import RunConfig
from lava_lite.sub_model import is_sub_model

Choice = tuple[type[ProcessModel], str]


def select_model(process: AbstractProcess, run_cfg: RunConfig) -> Choice:
    """The model for ``process`` and a sentence saying why it was chosen.

    In order:

    1. ``exception_proc_model_map`` (this instance, then its class) wins;
    2. with ``select_sub_proc_model``, or when the Process has only SubProcessModels, the
       first SubProcessModel tagged ``select_tag`` (without one: the first; none tagged so:
       the first untagged one);
    3. otherwise a leaf model: on a device target, the device's (``devices.device_choice``);
       else the first registered model carrying ``select_tag`` (without one: the first
       registered model) among those the target allows (``devices.host_models``).

    Parameters
    ----------
    process : AbstractProcess
        The Process to choose for.
    run_cfg : RunConfig
        ``exception_proc_model_map``, ``select_sub_proc_model``, ``select_tag``, ``target``.

    Raises
    ------
    CompileError
        Naming the Process, when no registered model fits.
    """
    exception = _exception(process, run_cfg)
    if exception is not None:
        return exception
    registered = REGISTRY.models_for(type(process))
    subs = [m for m in registered if is_sub_model(m)]
    leaves = [m for m in registered if not is_sub_model(m)]
    if not subs:
        return _select_leaf(process, leaves, run_cfg)
    tag = run_cfg.select_tag
    if run_cfg.select_sub_proc_model or not leaves:
        choice = _select_sub(process, subs, bool(leaves), run_cfg)
        if choice is not None:
            return choice
    model, reason = _select_leaf(process, leaves, run_cfg)
    if run_cfg.select_sub_proc_model:
        return model, (f"{reason} (select_sub_proc_model=True, but no SubProcessModel is "
                       f"tagged '{tag}')")
    return model, (f"{reason}; leaf models are preferred (select_sub_proc_model=True would "
                   f"choose SubProcessModel {subs[0].__name__})")


def _exception(process: AbstractProcess, run_cfg: RunConfig) -> Choice | None:
    """The ``exception_proc_model_map`` entry for ``process`` (instance first), if any."""
    exceptions = run_cfg.exception_proc_model_map
    for key, reason in ((process, "exception_proc_model_map (this instance)"),
                        (type(process), "exception_proc_model_map (its class)")):
        if key in exceptions:
            model = exceptions[key]
            if not (isinstance(model, type) and issubclass(model, ProcessModel)):
                raise CompileError(f"exception_proc_model_map maps {process.name} to "
                                   f"{model!r}, which is not a ProcessModel class")
            return model, reason
    return None


def _select_sub(process: AbstractProcess, subs: list, has_leaf: bool,
                run_cfg: RunConfig) -> Choice | None:
    """The SubProcessModel to use, or None to fall back to the leaf models (``has_leaf``)."""
    tag = run_cfg.select_tag
    why = "select_sub_proc_model=True" if has_leaf else "only SubProcessModels registered"
    if tag is None:
        return subs[0], f"{why}: the first SubProcessModel"
    for model in subs:
        if tag in model.tags:
            return model, f"{why}: the first SubProcessModel tagged '{tag}'"
    for model in subs:
        if not model.tags:
            return model, f"{why}: the first untagged one (none is tagged '{tag}')"
    if not has_leaf:
        raise CompileError(
            f"Process '{process.name}' ({type(process).__name__}) has no model tagged "
            f"'{tag}' (SubProcessModels: {[m.__name__ for m in subs]}, tags "
            f"{sorted({t for m in subs for t in m.tags})})")
    return None


def _select_leaf(process: AbstractProcess, models: list, run_cfg: RunConfig) -> Choice:
    """The leaf model: the device's choice on a device target, else by ``select_tag``."""
    if not models:
        raise CompileError(
            f"Process '{process.name}' ({type(process).__name__}) has no registered "
            f"ProcessModel; define one with @implements(proc={type(process).__name__}) and "
            f"import its module before running")
    choice = device_choice(process, models, run_cfg)
    if choice is not None:
        return choice
    models = host_models(process, models, run_cfg)
    tag = run_cfg.select_tag
    if tag is None:
        return models[0], "first registered model (no select_tag)"
    for model in models:
        if tag in model.tags:
            return model, f"first registered model tagged '{tag}'"
    available = sorted({t for m in models for t in m.tags})
    raise CompileError(
        f"Process '{process.name}' ({type(process).__name__}) has no model tagged "
        f"'{tag}'; tags available: {available} "
        f"(models: {[m.__name__ for m in models]})")

"""ProcessModels: *how* a Process runs. Declared types, lock-step phases and the model registry.

A model class declares, for each port and Var of its Process, the type it uses at run time::

    @implements(proc=LIF, protocol=LoihiProtocol)
    @requires(CPU)
    @tag("floating_pt")
    class PyLifFloat(LoihiProcessModel):
        a_in = InPortType(np.float64)
        s_out = OutPortType(np.float64)
        u = VarType(np.float64)
        ...
        def run_spk(self): ...

``@implements`` registers the class under its Process class as soon as the module (or notebook
cell) defining it runs; the compiler then chooses among the registered models.
"""
from __future__ import annotations

import importlib

import numpy as np

from lava_lite.abstract_process import AbstractProcess


# -- declared types ----------------------------------------------------------------------
class _DeclaredType:
    def __init__(self, dtype, precision: int | None = None):
        self.dtype = np.dtype(dtype)
        if precision is not None and (not isinstance(precision, int) or precision <= 0):
            raise ValueError(f"precision must be a positive number of bits, got {precision!r}")
        self.precision = precision

    def __repr__(self) -> str:
        bits = f", precision={self.precision}" if self.precision else ""
        return f"{type(self).__name__}({self.dtype}{bits})"


class VarType(_DeclaredType):
    """dtype (and bit precision, for fixed point) of a Var as the model holds it."""


class InPortType(_DeclaredType):
    """dtype of the data an InPort hands to the model. ``required=True``: the model cannot
    run with this port unconnected (an unconnected InPort otherwise receives zeros)."""

    def __init__(self, dtype, precision: int | None = None, required: bool = False):
        super().__init__(dtype, precision)
        self.required = bool(required)


class OutPortType(_DeclaredType):
    """dtype of an OutPort's data. ``delayed=True``: what is sent at step t arrives at t+1.

    Delayed ports (Dense, Sparse, delays) are what make recurrent loops computable, and they
    let workers on either side of them run in parallel.
    """

    def __init__(self, dtype, precision: int | None = None, delayed: bool = False):
        super().__init__(dtype, precision)
        self.delayed = bool(delayed)


class RefPortType(_DeclaredType):
    """dtype a RefPort reads and writes in (the target Var's values are cast to it)."""


class VarPortType(_DeclaredType):
    """Declared for an explicit VarPort member; the runtime serves it, the model never sees it."""


# -- resources, protocols ----------------------------------------------------------------
class Resource:
    """Something a model needs to run on (``@requires``). A device registered in
    ``lava_lite.backends`` names the resource its models require: every Process whose model
    requires it runs in that device's partition (the compiler schedules and places those
    Processes as one unit, see ``RunConfig(target=...)``).
    """


class CPU(Resource):
    """A general purpose CPU core."""


class NeuroCore(Resource):
    """A neuromorphic core on a chip (``lava_lite.runtimes.chip`` runs its models; the chip's
    limits, such as the widest graded spike, are in ``lava_lite.runtimes.chip.config``)."""


class LoihiProtocol:
    """Lock-step execution: spike phase each step, then optional management/learning phases."""


class AsyncProtocol:
    """Free-running execution: the model loops by itself."""


# -- model bases -------------------------------------------------------------------------
class ProcessModel:
    """Base of every model. The runtime sets Vars (ndarrays), ports, ``proc_params`` and
    ``rng`` (a per-Process generator seeded from the run's root seed) before the first step."""

    implements_process: type | None = None
    implements_protocol: type | None = None
    required_resources: tuple[type[Resource], ...] = ()
    tags: tuple[str, ...] = ()

    def __init__(self, proc_params: dict | None = None):
        self.proc_params = dict(proc_params or {})

    @classmethod
    def declared_types(cls) -> dict[str, _DeclaredType]:
        """Declared port and Var types by member name, including inherited ones."""
        found: dict[str, _DeclaredType] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                if isinstance(value, _DeclaredType):
                    found[name] = value
        return found

    @classmethod
    def step_cost(cls, var_sizes: dict[str, int], port_sizes: dict[str, int]) -> float:
        """Rough work per step (element operations), which placement balances. Default: the
        elements its ports move; synapse models add one per weight."""
        return 1.0 + sum(port_sizes.values())

    @classmethod
    def validate(cls, process_name: str, params: dict, var_inits: dict) -> None:
        """Refuse, with a CompileError naming the Process and parameter, what this model
        cannot run. Called by the compiler; the default accepts everything."""

    @classmethod
    def import_path(cls) -> str:
        return f"{cls.__module__}:{cls.__qualname__}"


class LoihiProcessModel(ProcessModel):
    """Lock-step model. ``time_step`` counts from 1. Each step: ``run_spk``; then, where the
    guard is true, ``run_pre_mgmt``, ``run_lrn`` and ``run_post_mgmt`` in that order."""

    time_step: int = 0
    # True on a model that may call request_pause/request_stop: the runtime then keeps every
    # Process within one step of it, so the run ends at the very step the model asked.
    controls_run: bool = False
    _run_request: str | None = None

    def request_pause(self) -> None:
        """Pause the whole run after the current step (``run`` continues it)."""
        self._request("pause")

    def request_stop(self) -> None:
        """Stop the whole run after the current step."""
        self._request("stop")

    def _request(self, what: str) -> None:
        if not type(self).controls_run:
            raise RuntimeError(f"{type(self).__name__} asks to {what} the run: declare "
                               f"'controls_run = True' on the model class so the runtime keeps "
                               f"every Process in step with it")
        if self._run_request != "stop":
            self._run_request = what

    def run_spk(self) -> None:
        """Spike phase: receive from InPorts, update state, send on OutPorts."""

    def pre_guard(self) -> bool:
        return False

    def run_pre_mgmt(self) -> None:
        """Management before learning; runs at steps where ``pre_guard()`` is true."""

    def lrn_guard(self) -> bool:
        return False

    def run_lrn(self) -> None:
        """Learning phase; runs at steps where ``lrn_guard()`` is true."""

    def post_guard(self) -> bool:
        return False

    def run_post_mgmt(self) -> None:
        """Management after learning; runs at steps where ``post_guard()`` is true."""


class AsyncProcessModel(ProcessModel):
    """Free-running model: ``run_async()`` loops on its own, sending and receiving whenever
    it likes, until it has done ``num_steps`` steps (None: until told to stop) or
    ``check_for_stop_cmd()``/``check_for_pause_cmd()`` say so.

    Its ports count: the k-th ``send`` on an OutPort is what lock-step receivers get at step
    k, and the k-th ``recv`` on an InPort returns step k's data. It always runs in a worker
    process of its own.
    """

    num_steps: int | None = None

    def run_async(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define run_async()")

    def check_for_stop_cmd(self) -> bool:
        """True once the run should end (a stop, or a pause, was asked for)."""
        return self._control.asked_to_end()

    def check_for_pause_cmd(self) -> bool:
        """True once the run should pause; ``run`` calls ``run_async`` again to continue."""
        return self._control.asked_to_end()


class DeviceProcessModel(LoihiProcessModel):
    """A model that a device runs (it ``@requires`` a Resource with a ``device``): it declares
    types and validates parameters, but has no Python step code. The runtime hands all such
    Processes of a run to the device's partition, which runs them together."""

    def __init__(self, proc_params: dict | None = None):
        raise RuntimeError(
            f"{type(self).__name__} runs on a device partition, not as a Python model; no "
            f"partition is registered for its resources "
            f"{[r.__name__ for r in self.required_resources]} (import lava_lite.runtimes)")


# -- decorators --------------------------------------------------------------------------
def implements(proc: type, protocol: type | None = None):
    """Declare (and register) the Process class a model implements.

    Parameters
    ----------
    proc : type
        The Process class.
    protocol : type, optional
        LoihiProtocol or AsyncProtocol; default: what the model's base class runs
        (AsyncProtocol for an AsyncProcessModel, else LoihiProtocol). A protocol the base
        class does not run is refused.
    """
    if not (isinstance(proc, type) and issubclass(proc, AbstractProcess)):
        raise TypeError(f"@implements(proc=...) needs a Process class, got {proc!r}")
    if protocol not in (None, LoihiProtocol, AsyncProtocol):
        raise TypeError(f"@implements(protocol=...) takes LoihiProtocol or AsyncProtocol, "
                        f"got {protocol!r}")

    def decorate(model_cls):
        _check_model_class(model_cls, "implements")
        runs = AsyncProtocol if issubclass(model_cls, AsyncProcessModel) else LoihiProtocol
        if protocol is not None and protocol is not runs:
            base = "AsyncProcessModel" if runs is AsyncProtocol else "LoihiProcessModel"
            raise TypeError(f"{model_cls.__name__}: declared protocol={protocol.__name__}, but "
                            f"it is a {base}, which runs {runs.__name__}")
        model_cls.implements_process = proc
        model_cls.implements_protocol = runs
        REGISTRY.register(model_cls)
        return model_cls

    return decorate


def requires(*resources: type[Resource]):
    """Declare the resources a model needs (CPU, NeuroCore)."""
    for resource in resources:
        if not (isinstance(resource, type) and issubclass(resource, Resource)):
            raise TypeError(f"@requires takes Resource classes such as CPU, got {resource!r}")

    def decorate(model_cls):
        _check_model_class(model_cls, "requires")
        model_cls.required_resources = tuple(resources)
        return model_cls

    return decorate


def tag(*tags: str):
    """Attach tags (``"floating_pt"``, ``"fixed_pt"``, your own) that RunConfig selects by."""
    for value in tags:
        if not isinstance(value, str) or not value:
            raise TypeError(f"@tag takes non-empty strings, got {value!r}")

    def decorate(model_cls):
        _check_model_class(model_cls, "tag")
        model_cls.tags = tuple(dict.fromkeys((*model_cls.__dict__.get("tags", ()), *tags)))
        return model_cls

    return decorate


def _check_model_class(model_cls, decorator: str) -> None:
    if not (isinstance(model_cls, type) and issubclass(model_cls, ProcessModel)):
        raise TypeError(f"@{decorator} decorates ProcessModel subclasses, got {model_cls!r}")


# -- registry ----------------------------------------------------------------------------
class ModelRegistry:
    """Models by the Process class they implement, in registration order.

    Registering a class with the same module and name again (a re-run notebook cell)
    replaces the earlier one instead of adding a duplicate.
    """

    def __init__(self):
        self._models: dict[type, list[type[ProcessModel]]] = {}

    def register(self, model_cls: type[ProcessModel]) -> None:
        models = self._models.setdefault(model_cls.implements_process, [])
        path = model_cls.import_path()
        models[:] = [m for m in models if m.import_path() != path]
        models.append(model_cls)

    def models_for(self, process_cls: type) -> list[type[ProcessModel]]:
        return list(self._models.get(process_cls, ()))

    def models(self) -> list[type[ProcessModel]]:
        """Every registered model (each Process's in registration order)."""
        return [model for models in self._models.values() for model in models]

    def snapshot(self) -> dict:
        """What ``restore`` puts back: the registrations as they are now."""
        return {process: list(models) for process, models in self._models.items()}

    def restore(self, snapshot: dict) -> None:
        """Forget every registration made since ``snapshot`` was taken (tests, notebooks)."""
        self._models = {process: list(models) for process, models in snapshot.items()}

    def resolve(self, import_path: str) -> type[ProcessModel]:
        """The model class named ``module:qualname``: registered or importable."""
        for models in self._models.values():
            for model in models:
                if model.import_path() == import_path:
                    return model
        module_name, _, qualname = import_path.partition(":")
        obj = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        return obj


REGISTRY = ModelRegistry()

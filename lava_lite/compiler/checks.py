"""Checks of the graph against the chosen models: names, declared types, parameters, inputs.

Each check that can fault several Processes reports all of them in one CompileError.
"""
from __future__ import annotations

import json
import math

from lava_lite.abstract_process import AbstractProcess
from lava_lite.compiler.problems import Problems
from lava_lite.compiler.state import CompileState
from lava_lite.errors import CompileError
from lava_lite.members import check_name_length
from lava_lite.model import (InPortType, OutPortType, ProcessModel, RefPortType, VarPortType,
                             VarType)
from lava_lite.ports import InPort, OutPort
from lava_lite.ref_ports import RefPort, VarPort
from lava_lite.value_checks import NUMBER_TYPES, is_number_dtype, refuses_non_finite
from lava_lite.var import Var

# The declared type each kind of member needs.
_EXPECTED = {Var: VarType, InPort: InPortType, OutPort: OutPortType, RefPort: RefPortType,
             VarPort: VarPortType}


def check_graph(state: CompileState) -> None:
    """Pass: names fit control messages (MAX_NAME_CHARS; a name given after construction,
    or a child's "<parent>.<attribute>"), some Process has a model, and no two leaves
    share a name."""
    for process in state.graph:
        try:
            check_name_length(process.name, "name", f"{type(process).__name__} Process")
        except ValueError as exc:
            raise CompileError(str(exc)) from None
    if not state.leaves:
        raise CompileError(f"'{state.start.name}' is not connected to any Process with a model")
    names = list(state.names.values())
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise CompileError(f"two Processes in one graph share the name(s) {sorted(duplicates)}")


def check_models(state: CompileState) -> None:
    """Pass: every leaf's members have the types its model declares (``state.declared``),
    its parameters are JSON data, and its model's ``validate`` accepts them."""
    problems = Problems()
    for process in state.leaves:
        model = state.model(process)
        with problems.collect():
            state.declared[process] = check_declared(process, model)
            check_params(process)
            validate(process, model)
    problems.raise_any()


def validate(process: AbstractProcess, model: type[ProcessModel]) -> None:
    """The model's own compile-time checks of ``process``; whatever else than a
    CompileError they raise becomes one naming the Process and the model."""
    try:
        model.validate(process.name, process.proc_params,
                       {n: v.init for n, v in process.members_of(Var).items()})
    except CompileError:
        raise
    except Exception as exc:
        raise CompileError(f"Process '{process.name}': {model.__name__}.validate failed: "
                           f"{type(exc).__name__}: {exc}") from exc


def check_declared(process: AbstractProcess, model: type[ProcessModel]) -> dict:
    """The types ``model`` declares for ``process``'s members, checked one to one.

    Parameters
    ----------
    process : AbstractProcess
        The Process.
    model : type
        Its chosen model.

    Returns
    -------
    dict
        Declared type by member name.
    """
    declared = model.declared_types()
    for name, member in process.members.items():
        kind = next(t for t in _EXPECTED if isinstance(member, t))
        if name not in declared:
            raise CompileError(f"model {model.__name__} of Process '{process.name}' does not "
                               f"declare a type for {kind.__name__} '{name}'")
        if not isinstance(declared[name], _EXPECTED[kind]):
            raise CompileError(f"model {model.__name__} declares '{name}' as "
                               f"{type(declared[name]).__name__}, but on Process "
                               f"'{process.name}' it is a {kind.__name__}")
        if not is_number_dtype(declared[name].dtype):
            raise CompileError(f"model {model.__name__} of Process '{process.name}' declares "
                               f"{kind.__name__} '{name}' as {declared[name]!r}: declared "
                               f"types must be numbers ({NUMBER_TYPES})")
    # A VarPort is optional on a Process (RefPorts may also use an implicit one).
    extra = sorted(n for n in set(declared) - set(process.members)
                   if not isinstance(declared[n], VarPortType))
    if extra:
        raise CompileError(f"model {model.__name__} declares {extra}, which Process "
                           f"'{process.name}' ({type(process).__name__}) does not have")
    return declared


def check_params(process: AbstractProcess) -> None:
    """``proc_params`` must be JSON data; with ``strict_overflow=True``, with finite floats.

    Parameters
    ----------
    process : AbstractProcess
        The Process whose parameters are checked.
    """
    try:
        json.dumps(process.proc_params)
    except (TypeError, ValueError) as exc:
        raise CompileError(f"Process '{process.name}': proc_params must be JSON data "
                           f"(numbers, strings, lists, dicts): {exc}") from None
    if refuses_non_finite(process.proc_params):
        for key, value in _floats_in(process.proc_params, "proc_params"):
            if not math.isfinite(value):
                raise CompileError(f"Process '{process.name}': parameter {key} = {value!r} "
                                   f"is not finite (strict_overflow=True refuses NaN and "
                                   f"infinity)")


def _floats_in(data, path: str):
    """(path, value) of every float in JSON data ``data``, e.g. ``proc_params['a'][0]``."""
    if isinstance(data, float):
        yield path, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _floats_in(value, f"{path}[{key!r}]")
    elif isinstance(data, (list, tuple)):
        for k, value in enumerate(data):
            yield from _floats_in(value, f"{path}[{k}]")


def check_required_inputs(state: CompileState) -> None:
    """Pass: every InPort whose model declares it ``required`` is fed by a channel."""
    fed = {(c.dst, c.dst_port) for c in state.channels}
    problems = Problems()
    for process in state.leaves:
        for name in process.members_of(InPort):
            if state.declared[process][name].required and (state.ids[process], name) not in fed:
                problems.errors.append(CompileError(
                    f"InPort '{name}' of Process '{process.name}' is not connected, but its "
                    f"model {state.model(process).__name__} needs input there"))
    problems.raise_any()

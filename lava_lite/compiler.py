"""Compiler: from a graph of Processes and a RunConfig to an executable Plan.

Walks the graph from any of its Processes, chooses one model per Process, checks types and
values against what each model declares, resolves channels, orders the schedule, places
Processes on workers and derives per-Process seeds.
"""
from __future__ import annotations

import heapq
import json
import math
import os
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from lava_lite.errors import CompileError
from lava_lite.members import check_name_length
from lava_lite.model import (REGISTRY, AsyncProcessModel, InPortType, OutPortType,
                             ProcessModel, RefPortType, VarPortType, VarType)
from lava_lite.plan import (REF_WIRE_IDS_PER_EDGE, ChannelPlan, Plan, PortPlan, ProbePlan,
                            ProcessPlan, RefChannelPlan, VarPlan)
from lava_lite.ports import AbstractPort, InPort, OutPort, recording, undo
from lava_lite.probing import ProbingProcess
from lava_lite.ref_ports import RefPort, VarPort
from lava_lite.process import Process, _process_ids
from lava_lite.sub_model import SubProcessModel, is_sub_model
from lava_lite.run_config import PER_PROCESS, RunConfig
from lava_lite.runtime_registry import device_check
from lava_lite.value_checks import (NUMBER_TYPES, check_value, is_number_dtype,
                                    refuses_non_finite)
from lava_lite.var import Var
from lava_lite.virtual_ports import VirtualPort, simplify, transform_shape

# Below this much work per step (element operations, see ProcessModel.step_cost) per worker,
# an extra worker costs more in IPC than it saves (measured: ~70 us/step of IPC vs ~2-14
# us/step of small-network math).
WORK_PER_EXTRA_WORKER = 200_000


@dataclass
class Compiled:
    """The plan plus the maps from frontend objects to plan ids that a session needs."""
    plan: Plan
    process_ids: dict[Process, int]
    probe_ids: dict[ProbingProcess, list[int]]
    graph: list[Process]


def select_model(process: Process, run_cfg: RunConfig) -> tuple[type[ProcessModel], str]:
    """The model for ``process`` and a sentence saying why it was chosen."""
    exceptions = run_cfg.exception_proc_model_map
    for key, reason in ((process, "exception_proc_model_map (this instance)"),
                        (type(process), "exception_proc_model_map (its class)")):
        if key in exceptions:
            model = exceptions[key]
            if not (isinstance(model, type) and issubclass(model, ProcessModel)):
                raise CompileError(f"exception_proc_model_map maps {process.name} to "
                                   f"{model!r}, which is not a ProcessModel class")
            return model, reason
    models = [m for m in REGISTRY.models_for(type(process)) if not is_sub_model(m)]
    if not models:
        raise CompileError(
            f"Process '{process.name}' ({type(process).__name__}) has no registered "
            f"ProcessModel; define one with @implements(proc={type(process).__name__}) and "
            f"import its module before running")
    target = getattr(run_cfg, "target", None)
    if target not in (None, "cpu"):
        return _select_for_device(process, models, target, run_cfg.select_tag)
    if target == "cpu":
        models = [m for m in models if model_device(m) is None]
        if not models:
            raise CompileError(f"Process '{process.name}' ({type(process).__name__}) has no "
                               f"model that runs on the CPU (target 'cpu')")
    if run_cfg.select_tag is None:
        return models[0], "first registered model (no select_tag)"
    for model in models:
        if run_cfg.select_tag in model.tags:
            return model, f"first registered model tagged '{run_cfg.select_tag}'"
    available = sorted({t for m in models for t in m.tags})
    raise CompileError(
        f"Process '{process.name}' ({type(process).__name__}) has no model tagged "
        f"'{run_cfg.select_tag}'; tags available: {available} "
        f"(models: {[m.__name__ for m in models]})")


def model_device(model: type[ProcessModel]) -> str | None:
    """The device (e.g. "chip") whose partition runs ``model``, from the ``device`` of the
    resources it requires; None for models that run on the host."""
    for resource in model.required_resources:
        device = getattr(resource, "device", None)
        if device:
            return device
    return None


def _select_for_device(process: Process, models: list, target: str,
                       select_tag: str | None) -> tuple[type[ProcessModel], str]:
    """RunConfig(target=device): the first model the device runs (carrying ``select_tag`` if
    one is given), else the first host model tagged ``select_tag`` or "fixed_pt"."""
    for model in models:
        if model_device(model) == target and (select_tag is None or select_tag in model.tags):
            resource = next(r.__name__ for r in model.required_resources
                            if getattr(r, "device", None) == target)
            tagged = f" tagged '{select_tag}'" if select_tag else ""
            return model, (f"target '{target}': first registered model{tagged} requiring "
                           f"{resource}")
    host_tag = select_tag or "fixed_pt"
    for model in models:
        if model_device(model) is None and host_tag in model.tags:
            return model, (f"target '{target}': {type(process).__name__} has no model for "
                           f"the {target}, so the first CPU model tagged '{host_tag}'")
    raise CompileError(
        f"Process '{process.name}' ({type(process).__name__}) has neither a model for the "
        f"{target} nor a CPU model tagged '{host_tag}' (models: {[m.__name__ for m in models]})")


def _var_plan(process: Process, var: Var, declared: VarType) -> VarPlan:
    """The checked initial value of ``var`` (as given before the run), cast once to the
    type the model declares."""
    check_value(f"Process '{process.name}', Var '{var.name}'", var.init, declared.dtype,
                declared.precision, finite=refuses_non_finite(process.proc_params))
    return VarPlan(name=var.name, shape=var.shape, dtype=declared.dtype.str,
                   precision=declared.precision,
                   init=np.ascontiguousarray(var.init.astype(declared.dtype)))


def _check_declared(process: Process, model: type[ProcessModel]) -> dict:
    declared = model.declared_types()
    expected = {Var: VarType, InPort: InPortType, OutPort: OutPortType, RefPort: RefPortType,
                VarPort: VarPortType}
    for name, member in process.members.items():
        kind = next(t for t in expected if isinstance(member, t))
        if name not in declared:
            raise CompileError(f"model {model.__name__} of Process '{process.name}' does not "
                               f"declare a type for {kind.__name__} '{name}'")
        if not isinstance(declared[name], expected[kind]):
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


def _routes(port: AbstractPort, leaves: set) -> list[tuple[InPort, tuple[dict, ...]]]:
    """(InPort of a model-backed Process, transform steps) for every path by which data sent
    on ``port`` reaches one, through parents' ports (hierarchy) and virtual ports
    (reshape, transpose, concat), in connection order. The steps of a path turn data of
    ``port``'s shape into data of the InPort's shape."""
    found: list[tuple[InPort, tuple[dict, ...]]] = []

    def walk(current: AbstractPort, steps: tuple, on_path: tuple) -> None:
        for nxt, link_steps in current.downstream():
            if nxt in on_path:
                raise CompileError(
                    f"port connections form a loop: "
                    f"{' -> '.join(p.qualified_name for p in (*on_path, nxt))}")
            total = steps + link_steps
            owner = None if isinstance(nxt, VirtualPort) else nxt.process
            if owner in leaves:
                if isinstance(nxt, OutPort):
                    raise CompileError(
                        f"{port.qualified_name} reaches {nxt.qualified_name}, an OutPort of "
                        f"'{owner.name}', which runs a model: an OutPort sends to InPorts, "
                        f"or to its parent Process's OutPort (hierarchical Processes)")
                if isinstance(nxt, InPort):
                    onward = [p.qualified_name for p, _ in nxt.downstream()]
                    if onward:
                        raise CompileError(
                            f"{nxt.qualified_name} of '{owner.name}', which runs a model, is "
                            f"connected onward to {', '.join(onward)}: only a parent "
                            f"Process's InPort forwards to a child's InPort")
                    found.append((nxt, total))
                    continue
            walk(nxt, total, (*on_path, nxt))

    walk(port, (), (port,))
    return found


def _channel_transform(src: OutPort, dst: InPort, steps: tuple) -> tuple[dict, ...]:
    """The checked, simplified transform of one channel."""
    try:
        shape = transform_shape(src.shape, steps)
    except ValueError as exc:
        raise CompileError(f"the path from {src.qualified_name} (shape {src.shape}) to "
                           f"{dst.qualified_name} (shape {dst.shape}) has a transform that "
                           f"does not fit: {exc}") from None
    if shape != dst.shape:
        raise CompileError(f"the path from {src.qualified_name} (shape {src.shape}) to "
                           f"{dst.qualified_name} delivers shape {shape}, but the InPort's "
                           f"shape is {dst.shape}")
    return simplify(src.shape, steps)


def _port_neighbours(port: AbstractPort) -> list[Process]:
    """Processes of the real ports linked to ``port``, looking through virtual ports."""
    found, stack, seen = [], [port], {port}
    while stack:
        current = stack.pop()
        for other in (*current.in_connections, *current.out_connections):
            if other in seen:
                continue
            seen.add(other)
            if isinstance(other, VirtualPort):
                stack.append(other)
            elif other.process is not None:
                found.append(other.process)
    return found


# -- hierarchical Processes --------------------------------------------------------------
MAX_HIERARCHY_DEPTH = 64


@dataclass
class _Expansion:
    """What a SubProcessModel built for a Process: kept on the Process so that compiling
    again reuses it (or takes it back when another model is chosen)."""
    model: type
    instance: SubProcessModel
    children: list[Process]
    log: list


def choose_model(process: Process, run_cfg: RunConfig) -> tuple[type[ProcessModel], str]:
    """``select_model`` with SubProcessModels: an exception_proc_model_map entry wins; with
    ``select_sub_proc_model`` a SubProcessModel (tagged ``select_tag``, else untagged) is
    preferred; otherwise leaf models are, and a SubProcessModel is used only when the
    Process has no leaf model."""
    exceptions = run_cfg.exception_proc_model_map
    registered = REGISTRY.models_for(type(process))
    subs = [m for m in registered if is_sub_model(m)]
    if process in exceptions or type(process) in exceptions or not subs:
        return select_model(process, run_cfg)
    has_leaf = len(subs) < len(registered)
    tag = run_cfg.select_tag
    if run_cfg.select_sub_proc_model or not has_leaf:
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
    model, reason = select_model(process, run_cfg)
    if run_cfg.select_sub_proc_model:
        return model, (f"{reason} (select_sub_proc_model=True, but no SubProcessModel is "
                       f"tagged '{tag}')")
    return model, (f"{reason}; leaf models are preferred (select_sub_proc_model=True would "
                   f"choose SubProcessModel {subs[0].__name__})")


def _is_default_name(process: Process) -> bool:
    return process.name == f"{type(process).__name__}_{process._creation_index}"


def _children_of(instance: SubProcessModel, parent: Process, first_index: int,
                 log: list) -> list[Process]:
    """Processes the SubProcessModel built: its attributes (Processes, or lists, tuples and
    dicts of them), then any other Process created by it that its connections reach.
    Unnamed children are named "<parent>.<attribute>"."""
    named: dict[Process, str] = {}

    def add(value, label: str) -> None:
        if isinstance(value, Process) and value is not parent and value not in named:
            named[value] = label

    for attr, value in vars(instance).items():
        if isinstance(value, (list, tuple)):
            for k, item in enumerate(value):
                add(item, f"{attr}[{k}]")
        elif isinstance(value, dict):
            for key, item in value.items():
                add(item, f"{attr}[{key}]")
        else:
            add(value, attr)
    for port in (*parent.members_of(AbstractPort).values(), *parent._implicit_ports):
        for process in _port_neighbours(port):
            if process._creation_index > first_index:
                add(process, f"{type(process).__name__}_{process._creation_index}")
    for child, label in named.items():
        if _is_default_name(child):
            child.name = f"{parent.name}.{label}"
    return list(named)


def _retract(process: Process) -> None:
    """Take back what a SubProcessModel built for ``process`` in an earlier compilation."""
    previous = process.__dict__.get("_lava_lite_expansion")
    if previous is not None:
        undo(previous.log)
        del process._lava_lite_expansion


def _expand(process: Process, model: type) -> list[Process]:
    """Build (or reuse) ``process``'s sub-Processes with SubProcessModel ``model``."""
    previous = process.__dict__.get("_lava_lite_expansion")
    if previous is not None and previous.model is model:
        return previous.children
    _retract(process)
    first_index = next(_process_ids)
    with recording() as log:
        try:
            instance = model(process)
        except Exception as exc:
            undo(log)
            raise CompileError(
                f"SubProcessModel {model.__name__} of Process '{process.name}' "
                f"({type(process).__name__}) failed to build its sub-Processes: "
                f"{type(exc).__name__}: {exc}") from exc
    children = _children_of(instance, process, first_index, log)
    for name, var in process.members_of(Var).items():
        target = var.aliased_var
        if target is not None and target.process not in children:
            undo(log)
            raise CompileError(
                f"Var '{name}' of '{process.name}' is aliased to {target.qualified_name}, "
                f"which is not a Var of one of its sub-Processes "
                f"({', '.join(c.name for c in children) or 'none'})")
    process._lava_lite_expansion = _Expansion(model, instance, children, log)
    return children


class _Problems:
    """CompileErrors collected over one pass of the compiler, so that a compile reports
    every Process at fault at once instead of one per attempt."""

    def __init__(self):
        self.errors: list[CompileError] = []

    @contextmanager
    def collect(self):
        try:
            yield
        except CompileError as exc:
            self.errors.append(exc)

    def raise_any(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise CompileError(f"{len(self.errors)} problems:\n"
                               + "\n".join(f"- {e}" for e in self.errors))


def _expand_graph(start: Process, run_cfg: RunConfig):
    """Every Process connected to ``start`` through ports, probes or hierarchy, with the
    model chosen for each non-probing one (SubProcessModels are built on the way, so their
    children are walked too). Returns (graph in hierarchy order, chosen, parent of each
    child)."""
    chosen: dict[Process, tuple[type[ProcessModel], str]] = {}
    parent_of: dict[Process, Process] = {}
    seen, frontier = {start}, [start]
    problems = _Problems()
    while frontier:
        process = frontier.pop()
        neighbours = list(process._observers)
        if isinstance(process, ProbingProcess):
            neighbours += [member.process for member, _ in process._probe_requests]
        else:
            with problems.collect():  # no model: reported after the walk, with the others
                chosen[process] = choose_model(process, run_cfg)
            if process in chosen and not is_sub_model(chosen[process][0]):
                _retract(process)
            elif process in chosen:
                depth, up = 0, process
                while up in parent_of:
                    depth, up = depth + 1, parent_of[up]
                if depth >= MAX_HIERARCHY_DEPTH:
                    raise CompileError(
                        f"Processes nest more than {MAX_HIERARCHY_DEPTH} levels deep at "
                        f"'{process.name}': does a SubProcessModel build a Process of its "
                        f"own class?")
                children = _expand(process, chosen[process][0])
                for child in children:
                    parent_of.setdefault(child, process)
                neighbours += children
        for port in (*process.members_of(AbstractPort).values(), *process._implicit_ports):
            neighbours += _port_neighbours(port)
        for other in neighbours:
            if other not in seen:
                seen.add(other)
                frontier.append(other)
    problems.raise_any()

    def key(process: Process) -> tuple:
        up = parent_of.get(process)
        return (*(key(up) if up is not None else ()), process._creation_index)

    return sorted(seen, key=key), chosen, parent_of


def _hierarchy_note(process: Process, chosen: dict, parent_of: dict) -> str:
    """"; inside a (A via AModel, why) > a.b (B via BModel, why)" for a child, else ""."""
    chain = []
    up = parent_of.get(process)
    while up is not None:
        model, why = chosen[up]
        chain.append(f"{up.name} ({type(up).__name__} via {model.__name__}, {why})")
        up = parent_of.get(up)
    return f"; inside {' > '.join(reversed(chain))}" if chain else ""


def _probe_target(member, leaves: set, observer: ProbingProcess):
    """The leaf Var or OutPort a probe of ``member`` records: aliases are followed, and a
    parent's OutPort leads to the one child OutPort that feeds it unchanged."""
    where = f"{observer.name} probes {member.qualified_name}"
    if isinstance(member, Var):
        target = member.resolve_alias()
        if target.process not in leaves:
            raise CompileError(f"{where}, but '{target.process.name}' runs no model and the "
                               f"Var is not aliased to a Var of one of its sub-Processes")
        return target
    port = member
    while port.process not in leaves:
        sources = port.upstream()
        if len(sources) != 1 or sources[0][1] or isinstance(sources[0][0], VirtualPort):
            raise CompileError(
                f"{where}, but '{port.process.name}' runs no model and {port.qualified_name} "
                f"is not fed by exactly one sub-Process OutPort without a transform; probe "
                f"that sub-Process's OutPort instead")
        port = sources[0][0]
    return port


def _direction(port: AbstractPort) -> str:
    return {InPort: "in", OutPort: "out", RefPort: "ref", VarPort: "var"}[type(port)]


def _ref_channels(leaves: list[Process], ids: dict, declared: dict, wire_base: int,
                  asynchronous: set[Process]) -> list[RefChannelPlan]:
    """RefPort -> Var edges, refusing targets a RefPort may not reach."""
    refs = []
    for process in leaves:
        for name, port in process.members_of(RefPort).items():
            for var_port in port.out_connections:
                var = var_port.var.resolve_alias()  # a hierarchical Process's Var: its child's
                owner = var.process
                where = f"RefPort '{name}' of Process '{process.name}'"
                if owner is process:
                    raise CompileError(f"{where} targets Var '{var.name}' of its own Process; "
                                       f"a Process reads its own Vars directly")
                if not var.shareable:
                    raise CompileError(f"{where} targets Var '{var.name}' of '{owner.name}', "
                                       f"which is not shareable (Var(..., shareable=False))")
                if owner not in ids:
                    raise CompileError(f"{where} targets Var '{var.name}' of '{owner.name}', "
                                       f"which has no model in this graph")
                if asynchronous & {process, owner}:
                    raise CompileError(f"{where} targets Var '{var.name}' of '{owner.name}': "
                                       f"RefPorts work in management phases, which "
                                       f"asynchronous models do not have")
                refs.append(RefChannelPlan(
                    id=len(refs), src=ids[process], src_port=name, dst=ids[owner],
                    var=var.name, shape=var.shape, dtype=declared[owner][var.name].dtype.str,
                    wire_base=wire_base + REF_WIRE_IDS_PER_EDGE * len(refs)))
    return refs


def _check_params(process: Process) -> None:
    """proc_params must be JSON data; with ``strict_overflow=True``, with finite floats."""
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


def _check_names(graph: list[Process]) -> None:
    """Names travel in control messages of bounded size: refuse any longer than
    MAX_NAME_CHARS (a name given after construction, or a child's "<parent>.<attribute>")."""
    for process in graph:
        try:
            check_name_length(process.name, "name", f"{type(process).__name__} Process")
        except ValueError as exc:
            raise CompileError(str(exc)) from None


def _schedule(ids: list[int], channels: list[ChannelPlan], names: dict[int, str],
              groups: dict[int, str] | None = None) -> list[int]:
    """Topological order over undelayed channels, ties broken by id; refuses zero-delay loops.

    ``groups`` maps the ids of Processes that a device runs to that device. The device runs
    them all in one step, so each device is one node of the order: its Processes come out
    together (in their own order) and a path with no delay that leaves the device and comes
    back to it is refused.
    """
    order = _topological(ids, channels, names)
    return _contract(order, channels, names, groups) if groups else order


def _kahn(successors: dict[int, set[int]]) -> tuple[list[int], dict[int, int]]:
    """Topological order of ``successors``' nodes, smallest ready node first, and the
    in-degrees left over (non-zero exactly on nodes stuck in or behind a loop)."""
    indegree = dict.fromkeys(successors, 0)
    for targets in successors.values():
        for node in targets:
            indegree[node] += 1
    ready = [node for node, degree in indegree.items() if degree == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for nxt in successors[node]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                heapq.heappush(ready, nxt)
    return order, indegree


def _topological(ids: list[int], channels: list[ChannelPlan], names: dict[int, str]) -> list[int]:
    successors: dict[int, set[int]] = {i: set() for i in ids}
    for c in channels:
        if not c.delayed:
            successors[c.src].add(c.dst)
    order, indegree = _kahn(successors)
    if len(order) < len(ids):
        stuck = sorted(names[i] for i in ids if indegree[i] > 0)
        raise CompileError(
            f"the graph has a loop with no delayed connection among {stuck}: each step, "
            f"every Process in it would wait for another. Put a Dense, Sparse or delay "
            f"in the loop")
    return order


def _contract(order: list[int], channels: list[ChannelPlan], names: dict[int, str],
              groups: dict[int, str]) -> list[int]:
    """``order`` with each device's Processes contracted into one node (see _schedule)."""
    first = {}
    for pid in sorted(groups):
        first.setdefault(groups[pid], pid)
    node = {pid: first[groups[pid]] if pid in groups else pid for pid in order}
    successors: dict[int, set[int]] = {n: set() for n in node.values()}
    predecessors: dict[int, set[int]] = {n: set() for n in node.values()}
    for c in channels:
        a, b = node[c.src], node[c.dst]
        if not c.delayed and a != b:  # (a == b: inside a device, the device's business)
            successors[a].add(b)
            predecessors[b].add(a)
    nodes, indegree = _kahn(successors)
    if len(nodes) < len(successors):
        raise _reentry_error(next(rep for rep in first.values() if indegree[rep] > 0),
                             node, successors, predecessors, channels, names, groups)
    members = {n: [pid for pid in order if node[pid] == n] for n in nodes}
    return [pid for n in nodes for pid in members[n]]


def _reentry_error(rep: int, node: dict, successors: dict, predecessors: dict,
                   channels: list[ChannelPlan], names: dict[int, str],
                   groups: dict[int, str]) -> CompileError:
    """A device step cannot wait for the host: name the Processes of the undelayed path
    that leaves the device of node ``rep`` and re-enters it."""
    def reach(links):
        seen, frontier = set(), [rep]
        while frontier:
            for nxt in links[frontier.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        return seen

    on_path = (reach(successors) & reach(predecessors)) - {rep}
    device = groups[rep]
    inside = sorted(names[p] for p in node if node[p] == rep)
    via = sorted(names[p] for p in node if node[p] in on_path)
    exits = sorted({names[c.src] for c in channels if not c.delayed and node[c.src] == rep
                    and node[c.dst] in on_path})
    entries = sorted({names[c.dst] for c in channels if not c.delayed and node[c.dst] == rep
                      and node[c.src] in on_path})
    return CompileError(
        f"the Processes run by the {device} ({inside}) must run each step as one unit, but a "
        f"path with no delayed connection leaves the {device} at {exits} and comes back at "
        f"{entries} through {via}: the {device} would have to wait within its own step for "
        f"their result. Put a delayed connection (Dense, Sparse) on that path outside the "
        f"{device}, or run {via} on the same side")


# How far (in shares of a worker's fair load) a cut may move to land on a delayed edge.
CUT_SLACK = 0.25


def _chunks(order: list[int], costs: dict[int, float], workers: int,
            clean: set[int] = frozenset(), strict: bool = False) -> dict[int, int] | None:
    """Contiguous, cost-balanced chunks of the schedule, one per worker.

    A cut at position b (between order[b-1] and order[b]) is *clean* when only delayed
    channels cross it: the workers on either side then run the same step in parallel
    instead of one waiting for the other. Each cut moves to the nearest clean position
    if that keeps the loads within CUT_SLACK of balanced; ``strict``: to the nearest clean
    position however far, and None if there is none.
    """
    total = sum(costs[p] for p in order)
    prefix = [0.0]
    for pid in order:
        prefix.append(prefix[-1] + costs[pid])
    cuts, previous = [], 0
    for worker in range(1, workers):
        ideal = next(b for b in range(previous + 1, len(order) - (workers - worker) + 1)
                     if prefix[b] >= total * worker / workers
                     or b == len(order) - (workers - worker))
        allowed = range(previous + 1, len(order) - (workers - worker) + 1)
        near = [b for b in allowed if b in clean and (
            strict or abs(prefix[b] - prefix[ideal]) <= CUT_SLACK * total / workers)]
        if strict and not near:
            return None
        cut = min(near, key=lambda b: (abs(prefix[b] - prefix[ideal]), b)) if near else ideal
        cuts.append(cut)
        previous = cut
    placement, worker = {}, 0
    for k, pid in enumerate(order):
        while worker < len(cuts) and k >= cuts[worker]:
            worker += 1
        placement[pid] = worker
    return placement


def _place(order: list[int], costs: dict[int, float], workers,
           groups: dict[int, str] | None = None,
           channels: list[ChannelPlan] = ()) -> tuple[dict[int, int], int]:
    """Worker of each Process and the number of workers.

    ``None`` (automatic): as many workers as cores allow, but only while every worker gets
    at least WORK_PER_EXTRA_WORKER of work; a worker with less costs more in IPC than it
    saves, so small networks run in one worker. The Processes a device runs (``groups``:
    id -> device) are one unit, placed on one worker (their partition's host side).
    """
    units: list[list[int]] = []
    unit_of_device: dict[str, int] = {}
    for pid in order:
        device = (groups or {}).get(pid)
        if device is None:
            units.append([pid])
        elif device in unit_of_device:
            units[unit_of_device[device]].append(pid)
        else:
            unit_of_device[device] = len(units)
            units.append([pid])
    unit_costs = {k: sum(costs[pid] for pid in unit) for k, unit in enumerate(units)}
    unit_at = {pid: k for k, unit in enumerate(units) for pid in unit}
    clean = set(range(1, len(units)))  # cuts that only delayed channels cross
    useful = set(clean)  # ... and that no feedback crosses, so both sides can work at once
    for c in channels:
        src, dst = unit_at[c.src], unit_at[c.dst]
        low, high = sorted((src, dst))
        if not c.delayed:
            clean.difference_update(range(low + 1, high + 1))
        if not c.delayed or dst < src:
            useful.difference_update(range(low + 1, high + 1))
    placement, count = _place_units(list(range(len(units))), unit_costs, workers, clean,
                                    useful)
    return {pid: placement[k] for k, unit in enumerate(units) for pid in unit}, count


def _place_units(order: list[int], costs: dict[int, float], workers, clean: set[int],
                 useful: set[int]) -> tuple[dict[int, int], int]:
    """Explicit counts prefer clean cuts; the automatic choice only makes cuts in
    ``useful`` (clean, and crossed by no feedback: a loop split across workers makes them
    take turns, not work in parallel)."""
    if workers == 0:
        return dict.fromkeys(order, 0), 0
    if workers == PER_PROCESS:
        return {pid: k for k, pid in enumerate(order)}, len(order)
    if workers is not None:
        workers = min(workers, len(order))
        return _chunks(order, costs, workers, clean), workers
    for count in range(min(os.cpu_count() or 1, len(order)), 0, -1):
        placement = _chunks(order, costs, count, useful, strict=True)
        if placement is None:
            continue
        load = [0.0] * count
        for pid, worker in placement.items():
            load[worker] += costs[pid]
        if count == 1 or min(load) >= WORK_PER_EXTRA_WORKER:
            return placement, count
    raise AssertionError("unreachable: one worker always fits")


def _isolate_async(placement: dict[int, int], num_workers: int, async_ids: list[int],
                   names: dict[int, str]) -> tuple[dict[int, int], int]:
    """Give every asynchronous Process a worker of its own: it loops by itself and would
    otherwise hold up the lock-step Processes sharing its worker."""
    if not async_ids:
        return placement, num_workers
    if num_workers == 0:
        raise CompileError(f"{', '.join(names[i] for i in async_ids)} run asynchronously and "
                           f"need worker processes; RunConfig(workers=0) cannot host them")
    lock_step = sorted({w for pid, w in placement.items() if pid not in async_ids})
    renumber = {w: k for k, w in enumerate(lock_step)}
    placement = {pid: renumber[w] for pid, w in placement.items() if pid not in async_ids}
    for k, pid in enumerate(sorted(async_ids)):
        placement[pid] = len(lock_step) + k
    return placement, len(lock_step) + len(async_ids)


def _check_devices(plan: Plan, groups: dict[int, str], names: dict[int, str]) -> None:
    """Let each device refuse, at compile time, what it cannot run (too large a network,
    parameters it cannot represent); see lava_lite.runtime_registry.register_device."""
    for device in sorted(set(groups.values())):
        check = device_check(device)
        if check is None:
            raise CompileError(
                f"{sorted(names[p] for p, d in groups.items() if d == device)} have models "
                f"for the {device}, which no installed runtime provides")
        check(plan, device)


def compile_graph(start: Process, run_cfg: RunConfig) -> Compiled:
    graph, chosen, parent_of = _expand_graph(start, run_cfg)
    _check_names(graph)
    leaves = [p for p in graph if p in chosen and not is_sub_model(chosen[p][0])]
    leaf_set = set(leaves)
    if not leaves:
        raise CompileError(f"'{start.name}' is not connected to any Process with a model")
    ids = {p: k for k, p in enumerate(leaves)}
    names = {k: p.name for p, k in ids.items()}
    duplicates = {n for n in names.values() if list(names.values()).count(n) > 1}
    if duplicates:
        raise CompileError(f"two Processes in one graph share the name(s) {sorted(duplicates)}")

    declared, problems = {}, _Problems()
    for process in leaves:
        with problems.collect():
            declared[process] = _check_declared(process, chosen[process][0])
            _check_params(process)
            chosen[process][0].validate(process.name, process.proc_params,
                                        {n: v.init for n, v in process.members_of(Var).items()})
    problems.raise_any()

    channels = []
    for process in leaves:
        for port in process.members_of(OutPort).values():
            port_type = declared[process][port.name]
            for dst, steps in _routes(port, leaf_set):
                channels.append((ids[process], port.name, ids[dst.process], dst.name,
                                 port.shape, port_type, _channel_transform(port, dst, steps)))
    channels.sort(key=lambda c: (c[0], list(leaves[c[0]].members).index(c[1]), c[2],
                                 list(leaves[c[2]].members).index(c[3])))
    channel_plans = [ChannelPlan(id=k, src=s, src_port=sp, dst=d, dst_port=dp, shape=shape,
                                 dtype=ptype.dtype.str, delayed=ptype.delayed, transform=steps)
                     for k, (s, sp, d, dp, shape, ptype, steps) in enumerate(channels)]

    fed = {(c.dst, c.dst_port) for c in channel_plans}
    for process in leaves:
        for name, port in process.members_of(InPort).items():
            if declared[process][name].required and (ids[process], name) not in fed:
                problems.errors.append(CompileError(
                    f"InPort '{name}' of Process '{process.name}' is not connected, but its "
                    f"model {chosen[process][0].__name__} needs input there"))
    problems.raise_any()

    groups = {ids[p]: device for p in leaves if (device := model_device(chosen[p][0]))}
    order = _schedule(list(ids.values()), channel_plans, names, groups)
    costs = {ids[p]: chosen[p][0].step_cost(
        {n: v.size for n, v in p.members_of(Var).items()},
        {n: port.size for n, port in p.members_of(AbstractPort).items()}) for p in leaves}
    placement, num_workers = _place(order, costs, run_cfg.workers, groups, channel_plans)
    placement, num_workers = _isolate_async(
        placement, num_workers, [ids[p] for p in leaves
                                 if issubclass(chosen[p][0], AsyncProcessModel)], names)

    probe_ids: dict[ProbingProcess, list[int]] = {}
    probes: dict[int, list[ProbePlan]] = {}
    for observer in (p for p in graph if isinstance(p, ProbingProcess)):
        for requested, options in observer._probe_requests:
            member = _probe_target(requested, leaf_set, observer)
            probe = ProbePlan(id=sum(map(len, probes.values())), monitor=observer.name,
                              target=member.name, **options,
                              kind="var" if isinstance(member, Var) else "out_port")
            probes.setdefault(ids[member.process], []).append(probe)
            probe_ids.setdefault(observer, []).append(probe.id)

    seeds = np.random.SeedSequence(run_cfg.seed).spawn(len(leaves))
    process_plans = []
    for process in leaves:
        model, reason = chosen[process]
        types = declared[process]
        pid = ids[process]
        process_plans.append(ProcessPlan(
            id=pid, name=process.name,
            process_class=f"{type(process).__module__}:{type(process).__qualname__}",
            model=model.import_path(),
            model_choice=reason + _hierarchy_note(process, chosen, parent_of),
            params=process.proc_params,
            vars=tuple(_var_plan(process, v, types[n]) for n, v in process.members_of(Var).items()),
            ports=tuple(PortPlan(name=n, direction=_direction(port),
                                 shape=port.shape, dtype=types[n].dtype.str,
                                 delayed=getattr(types[n], "delayed", False))
                        for n, port in process.members_of(AbstractPort).items()),
            probes=tuple(probes.get(pid, ())), worker=placement[pid],
            seed=int(seeds[pid].generate_state(1)[0]), cost=costs[pid]))

    asynchronous = {p for p in leaves if issubclass(chosen[p][0], AsyncProcessModel)}
    plan = Plan(processes=tuple(process_plans), channels=tuple(channel_plans),
                ref_channels=tuple(_ref_channels(leaves, ids, declared, len(channel_plans),
                                                 asynchronous)),
                asynchronous=tuple(sorted(ids[p] for p in asynchronous)),
                controllers=tuple(ids[p] for p in leaves
                                  if getattr(chosen[p][0], "controls_run", False)),
                schedule=tuple(order), num_workers=num_workers,
                runtime="in_process" if num_workers == 0 else "multiprocess",
                root_seed=run_cfg.seed,
                device_options={d: dict(getattr(run_cfg, f"{d}_options", None) or {})
                                for d in sorted(set(groups.values()))})
    _check_devices(plan, groups, names)
    return Compiled(plan=plan, process_ids=ids, probe_ids=probe_ids, graph=graph)

"""Compiler: from a graph of Processes and a RunConfig to an executable Plan.

Walks the graph from any of its Processes, chooses one model per Process, checks types and
values against what each model declares, resolves channels, orders the schedule, places
Processes on workers and derives per-Process seeds.
"""
from __future__ import annotations

import heapq
import json
import os
from dataclasses import dataclass

import numpy as np

from lava_lite.errors import CompileError
from lava_lite.model import (REGISTRY, AsyncProcessModel, InPortType, OutPortType,
                             ProcessModel, RefPortType, VarPortType, VarType)
from lava_lite.plan import (ChannelPlan, Plan, PortPlan, ProbePlan, ProcessPlan, RefChannelPlan,
                            VarPlan)
from lava_lite.ports import AbstractPort, InPort, OutPort
from lava_lite.probing import ProbingProcess
from lava_lite.ref_ports import RefPort, VarPort
from lava_lite.process import Process
from lava_lite.run_config import PER_PROCESS, RunConfig
from lava_lite.value_checks import check_value
from lava_lite.var import Var

# Below this much work (neurons + synapses) per worker, an extra worker costs more in IPC
# than it saves in compute (measured: ~70 us/step of IPC vs ~2-14 us/step of small-network math).
WORK_PER_EXTRA_WORKER = 200_000


@dataclass
class Compiled:
    """The plan plus the maps from frontend objects to plan ids that a session needs."""
    plan: Plan
    process_ids: dict[Process, int]
    probe_ids: dict[ProbingProcess, list[int]]
    graph: list[Process]


def collect_graph(start: Process) -> list[Process]:
    """Every Process connected to ``start`` through ports or probes, in creation order."""
    seen = {start}
    frontier = [start]
    while frontier:
        process = frontier.pop()
        neighbours = list(process._observers)
        if isinstance(process, ProbingProcess):
            neighbours += [member.process for member, _ in process._probe_requests]
        for port in (*process.members_of(AbstractPort).values(), *process._implicit_ports):
            neighbours += [p.process for p in (*port.in_connections, *port.out_connections)]
        for other in neighbours:
            if other not in seen:
                seen.add(other)
                frontier.append(other)
    return sorted(seen, key=lambda p: p._creation_index)


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
    models = REGISTRY.models_for(type(process))
    if not models:
        raise CompileError(
            f"Process '{process.name}' ({type(process).__name__}) has no registered "
            f"ProcessModel; define one with @implements(proc={type(process).__name__}) and "
            f"import its module before running")
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


def _var_plan(process: Process, var: Var, declared: VarType) -> VarPlan:
    check_value(f"Process '{process.name}', Var '{var.name}'", var.init, declared.dtype,
                declared.precision)
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
    # A VarPort is optional on a Process (RefPorts may also use an implicit one).
    extra = sorted(n for n in set(declared) - set(process.members)
                   if not isinstance(declared[n], VarPortType))
    if extra:
        raise CompileError(f"model {model.__name__} declares {extra}, which Process "
                           f"'{process.name}' ({type(process).__name__}) does not have")
    return declared


def _leaf_destinations(port: AbstractPort) -> list[InPort]:
    """InPorts of model-backed Processes that data sent on ``port`` reaches."""
    found = []
    for nxt in port.out_connections:
        if isinstance(nxt, InPort) and not nxt.out_connections:
            found.append(nxt)
        else:
            found += _leaf_destinations(nxt)
    return found


def _direction(port: AbstractPort) -> str:
    return {InPort: "in", OutPort: "out", RefPort: "ref", VarPort: "var"}[type(port)]


def _ref_channels(leaves: list[Process], ids: dict, declared: dict,
                  wire_base: int) -> list[RefChannelPlan]:
    """RefPort -> Var edges, refusing targets a RefPort may not reach."""
    refs = []
    for process in leaves:
        for name, port in process.members_of(RefPort).items():
            for var_port in port.out_connections:
                var, owner = var_port.var, var_port.var.process
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
                refs.append(RefChannelPlan(
                    id=len(refs), src=ids[process], src_port=name, dst=ids[owner],
                    var=var.name, shape=var.shape, dtype=declared[owner][var.name].dtype.str,
                    wire_base=wire_base + 5 * len(refs)))
    return refs


def _check_params(process: Process) -> None:
    try:
        json.dumps(process.proc_params)
    except TypeError as exc:
        raise CompileError(f"Process '{process.name}': proc_params must be JSON data "
                           f"(numbers, strings, lists, dicts): {exc}") from None


def _schedule(ids: list[int], channels: list[ChannelPlan], names: dict[int, str]) -> list[int]:
    """Topological order over undelayed channels, ties broken by id; refuses zero-delay loops."""
    successors: dict[int, set[int]] = {i: set() for i in ids}
    indegree = dict.fromkeys(ids, 0)
    for c in channels:
        if not c.delayed and c.dst not in successors[c.src]:
            successors[c.src].add(c.dst)
            indegree[c.dst] += 1
    ready = [i for i in ids if indegree[i] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for nxt in successors[node]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                heapq.heappush(ready, nxt)
    if len(order) < len(ids):
        stuck = sorted(names[i] for i in ids if indegree[i] > 0)
        raise CompileError(
            f"the graph has a loop with no delayed connection among {stuck}: each step, "
            f"every Process in it would wait for another. Put a Dense, Sparse or delay "
            f"in the loop")
    return order


def _chunks(order: list[int], costs: dict[int, float], workers: int) -> dict[int, int]:
    """Contiguous, cost-balanced chunks of the schedule, one per worker."""
    total = sum(costs[p] for p in order)
    placement, worker, done = {}, 0, 0.0
    for k, pid in enumerate(order):
        if worker < workers - 1 and (done >= total * (worker + 1) / workers
                                     or len(order) - k <= workers - worker - 1):
            worker += 1
        placement[pid] = worker
        done += costs[pid]
    return placement


def _place(order: list[int], costs: dict[int, float], workers) -> tuple[dict[int, int], int]:
    """Worker of each Process and the number of workers.

    ``None`` (automatic): as many workers as cores allow, but only while every worker gets
    at least WORK_PER_EXTRA_WORKER of work; a worker with less costs more in IPC than it
    saves, so small networks run in one worker.
    """
    if workers == 0:
        return dict.fromkeys(order, 0), 0
    if workers == PER_PROCESS:
        return {pid: k for k, pid in enumerate(order)}, len(order)
    if workers is not None:
        workers = min(workers, len(order))
        return _chunks(order, costs, workers), workers
    for count in range(min(os.cpu_count() or 1, len(order)), 0, -1):
        placement = _chunks(order, costs, count)
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


def compile_graph(start: Process, run_cfg: RunConfig) -> Compiled:
    graph = collect_graph(start)
    leaves = [p for p in graph if not isinstance(p, ProbingProcess)]
    if not leaves:
        raise CompileError(f"'{start.name}' is not connected to any Process with a model")
    ids = {p: k for k, p in enumerate(leaves)}
    names = {k: p.name for p, k in ids.items()}
    duplicates = {n for n in names.values() if list(names.values()).count(n) > 1}
    if duplicates:
        raise CompileError(f"two Processes in one graph share the name(s) {sorted(duplicates)}")

    chosen, declared = {}, {}
    for process in leaves:
        chosen[process] = select_model(process, run_cfg)
        declared[process] = _check_declared(process, chosen[process][0])
        _check_params(process)
        chosen[process][0].validate(process.name, process.proc_params,
                                    {n: v.init for n, v in process.members_of(Var).items()})

    channels = []
    for process in leaves:
        for port in process.members_of(OutPort).values():
            port_type = declared[process][port.name]
            for dst in _leaf_destinations(port):
                channels.append((ids[process], port.name, ids[dst.process], dst.name,
                                 port.shape, port_type))
    channels.sort(key=lambda c: (c[0], list(leaves[c[0]].members).index(c[1]), c[2],
                                 list(leaves[c[2]].members).index(c[3])))
    channel_plans = [ChannelPlan(id=k, src=s, src_port=sp, dst=d, dst_port=dp, shape=shape,
                                 dtype=ptype.dtype.str, delayed=ptype.delayed)
                     for k, (s, sp, d, dp, shape, ptype) in enumerate(channels)]

    fed = {(c.dst, c.dst_port) for c in channel_plans}
    for process in leaves:
        for name, port in process.members_of(InPort).items():
            if declared[process][name].required and (ids[process], name) not in fed:
                raise CompileError(f"InPort '{name}' of Process '{process.name}' is not "
                                   f"connected, but its model {chosen[process][0].__name__} "
                                   f"needs input there")

    order = _schedule(list(ids.values()), channel_plans, names)
    costs = {ids[p]: 1.0 + sum(v.size for v in p.members_of(Var).values()) for p in leaves}
    placement, num_workers = _place(order, costs, run_cfg.workers)
    placement, num_workers = _isolate_async(
        placement, num_workers, [ids[p] for p in leaves
                                 if issubclass(chosen[p][0], AsyncProcessModel)], names)

    probe_ids: dict[ProbingProcess, list[int]] = {}
    probes: dict[int, list[ProbePlan]] = {}
    for observer in (p for p in graph if isinstance(p, ProbingProcess)):
        for member, num_steps in observer._probe_requests:
            probe = ProbePlan(id=sum(map(len, probes.values())), monitor=observer.name,
                              target=member.name, num_steps=num_steps,
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
            model=model.import_path(), model_choice=reason, params=process.proc_params,
            vars=tuple(_var_plan(process, v, types[n]) for n, v in process.members_of(Var).items()),
            ports=tuple(PortPlan(name=n, direction=_direction(port),
                                 shape=port.shape, dtype=types[n].dtype.str,
                                 delayed=getattr(types[n], "delayed", False))
                        for n, port in process.members_of(AbstractPort).items()),
            probes=tuple(probes.get(pid, ())), worker=placement[pid],
            seed=int(seeds[pid].generate_state(1)[0]), cost=costs[pid]))

    plan = Plan(processes=tuple(process_plans), channels=tuple(channel_plans),
                ref_channels=tuple(_ref_channels(leaves, ids, declared, len(channel_plans))),
                controllers=tuple(ids[p] for p in leaves
                                  if getattr(chosen[p][0], "controls_run", False)),
                schedule=tuple(order), num_workers=num_workers,
                runtime="in_process" if num_workers == 0 else "multiprocess",
                root_seed=run_cfg.seed)
    return Compiled(plan=plan, process_ids=ids, probe_ids=probe_ids, graph=graph)

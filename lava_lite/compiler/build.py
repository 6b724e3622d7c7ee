"""The plan itself: one ProcessPlan per leaf (checked initial values, ports, probes, worker,
seed), then the Plan with its channels, schedule and runtime."""
from __future__ import annotations

import numpy as np

from lava_lite.abstract_port import AbstractPort
from lava_lite.abstract_process import AbstractProcess
from lava_lite.compiler.devices import device_options, runtime_name
from lava_lite.compiler.expand import hierarchy_note
from lava_lite.compiler.state import CompileState
from lava_lite.model import AsyncProcessModel, VarType
from lava_lite.plan import Plan, PortPlan, ProcessPlan, VarPlan
from lava_lite.ports import InPort, OutPort
from lava_lite.ref_ports import RefPort, VarPort
from lava_lite.value_checks import check_value, refuses_non_finite
from lava_lite.var import Var

_DIRECTIONS = {InPort: "in", OutPort: "out", RefPort: "ref", VarPort: "var"}


def plan_processes(state: CompileState) -> None:
    """Pass: ``state.process_plans``; each leaf's random generator is seeded from
    ``RunConfig.seed`` by its id, so results do not depend on placement."""
    seeds = np.random.SeedSequence(state.run_cfg.seed).spawn(len(state.leaves))
    for process in state.leaves:
        model, reason = state.chosen[process]
        types = state.declared[process]
        pid = state.ids[process]
        state.process_plans.append(ProcessPlan(
            id=pid, name=process.name,
            process_class=f"{type(process).__module__}:{type(process).__qualname__}",
            model=model.import_path(),
            model_choice=reason + hierarchy_note(process, state),
            params=process.proc_params,
            vars=tuple(_var_plan(process, v, types[n]) for n, v in process.members_of(Var).items()),
            ports=tuple(PortPlan(name=n, direction=_DIRECTIONS[type(port)],
                                 shape=port.shape, dtype=types[n].dtype.str,
                                 delayed=getattr(types[n], "delayed", False))
                        for n, port in process.members_of(AbstractPort).items()),
            probes=tuple(state.probes.get(pid, ())), worker=state.placement[pid],
            seed=int(seeds[pid].generate_state(1)[0]), cost=state.costs[pid]))


def _var_plan(process: AbstractProcess, var: Var, declared: VarType) -> VarPlan:
    """The checked initial value of ``var`` (as given before the run), cast once to the
    type the model declares."""
    check_value(f"Process '{process.name}', Var '{var.name}'", var.init, declared.dtype,
                declared.precision, finite=refuses_non_finite(process.proc_params))
    return VarPlan(name=var.name, shape=var.shape, dtype=declared.dtype.str,
                   precision=declared.precision,
                   init=np.ascontiguousarray(var.init.astype(declared.dtype)))


def build_plan(state: CompileState) -> None:
    """Pass: ``state.plan``, from what the passes before found."""
    ids, leaves = state.ids, state.leaves
    state.plan = Plan(
        processes=tuple(state.process_plans), channels=tuple(state.channels),
        ref_channels=tuple(state.ref_channels),
        asynchronous=tuple(sorted(ids[p] for p in leaves
                                  if issubclass(state.model(p), AsyncProcessModel))),
        controllers=tuple(ids[p] for p in leaves
                          if getattr(state.model(p), "controls_run", False)),
        schedule=tuple(state.order), num_workers=state.num_workers,
        runtime=runtime_name(state.num_workers), root_seed=state.run_cfg.seed,
        device_options=device_options(state.run_cfg, state.groups.values()))

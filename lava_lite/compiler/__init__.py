"""Compiler: from a graph of Processes and a RunConfig to an executable Plan.

``compile_graph`` runs ``PASSES`` in order over one ``CompileState``; each pass has one
purpose and fills in part of the state:

=================================  =====================================================
pass                               what it does
=================================  =====================================================
``expand.expand_graph``            walk the graph, choose each Process's model
                                   (``select.select_model``), build SubProcessModels'
                                   children; number the leaves
``checks.check_graph``             names fit, some Process has a model, no two leaves
                                   share a name
``checks.check_models``            declared types, parameters, each model's ``validate``
``routes.route_channels``          channels from leaf OutPorts to leaf InPorts, with
                                   their transforms
``checks.check_required_inputs``   every required InPort is fed
``devices.group_devices``          the Processes each device runs (one unit from here on)
``schedule.schedule``              the order of each step; zero-delay loops refused
``place.place``                    costs, worker count and placement
``probes.plan_probes``             what each observer records, and where
``build.plan_processes``           one ProcessPlan per leaf: checked values, ports, seed
``probes.plan_ref_channels``       RefPort -> Var edges
``build.build_plan``               the Plan
``devices.check_devices``          each device refuses what it cannot run
=================================  =====================================================

Everything that concerns devices and targets is in ``lava_lite.compiler.devices``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from lava_lite.abstract_process import AbstractProbingProcess, AbstractProcess
from lava_lite.compiler import build, checks, devices, expand, place, probes, routes, schedule
from lava_lite.compiler.devices import model_device
from lava_lite.compiler.place import WORK_PER_EXTRA_WORKER
from lava_lite.compiler.select import select_model
from lava_lite.compiler.state import CompileState
from lava_lite.plan import Plan
from lava_lite.run_config import RunConfig

__all__ = ["PASSES", "WORK_PER_EXTRA_WORKER", "CompileState", "Compiled", "compile_graph",
           "model_device", "select_model"]

PASSES = (
    expand.expand_graph,
    checks.check_graph,
    checks.check_models,
    routes.route_channels,
    checks.check_required_inputs,
    devices.group_devices,
    schedule.schedule,
    place.place,
    probes.plan_probes,
    build.plan_processes,
    probes.plan_ref_channels,
    build.build_plan,
    devices.check_devices,
)


@dataclass
class Compiled:
    """The plan plus the maps from frontend objects to plan ids that a session needs.

    Parameters
    ----------
    plan : Plan
        What the runtime runs.
    process_ids : dict
        Plan id of each leaf Process.
    probe_ids : dict
        Probe ids of each observer (Monitor), in the order it asked for them.
    graph : list
        Every Process of the graph, observers and hierarchical Processes included.
    """
    plan: Plan
    process_ids: dict[AbstractProcess, int]
    probe_ids: dict[AbstractProbingProcess, list[int]]
    graph: list[AbstractProcess]


def compile_graph(start: AbstractProcess, run_cfg: RunConfig) -> Compiled:
    """Compile the graph ``start`` belongs to.

    Parameters
    ----------
    start : AbstractProcess
        Any Process of the graph.
    run_cfg : RunConfig
        Which models, where.

    Raises
    ------
    CompileError
        Naming every Process at fault, where a pass can find several at once.
    """
    state = CompileState(start=start, run_cfg=run_cfg, cores=os.cpu_count() or 1)
    for compile_pass in PASSES:
        compile_pass(state)
    return Compiled(plan=state.plan, process_ids=state.ids, probe_ids=state.probe_ids,
                    graph=state.graph)

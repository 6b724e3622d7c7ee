"""Probe and RefPort plans: what observers record, and which Vars RefPorts reach.

A probe of a hierarchical Process's member records the leaf member it stands for (Var
aliases followed; a parent's OutPort leads to the one child OutPort feeding it unchanged).
A RefPort edge is refused when its target is its own Process, a Var that is not shareable,
a Process without a model, or when either end runs asynchronously.
"""
from __future__ import annotations

from lava_lite.abstract_process import AbstractProbingProcess
from lava_lite.compiler.state import CompileState
from lava_lite.errors import CompileError
from lava_lite.model import AsyncProcessModel
from lava_lite.plan import REF_WIRE_IDS_PER_EDGE, ProbePlan, RefChannelPlan
from lava_lite.ref_ports import RefPort
from lava_lite.var import Var
from lava_lite.virtual_ports import VirtualPort


def plan_probes(state: CompileState) -> None:
    """Pass: ``state.probes`` (by probed leaf id) and ``state.probe_ids`` (by observer),
    numbered in the order the observers asked for them."""
    leaf_set = set(state.leaves)
    for observer in (p for p in state.graph if isinstance(p, AbstractProbingProcess)):
        for requested, options in observer._probe_requests:
            member = _probe_target(requested, leaf_set, observer)
            probe = ProbePlan(id=sum(map(len, state.probes.values())), monitor=observer.name,
                              target=member.name, **options,
                              kind="var" if isinstance(member, Var) else "out_port")
            state.probes.setdefault(state.ids[member.process], []).append(probe)
            state.probe_ids.setdefault(observer, []).append(probe.id)


def _probe_target(member, leaves: set, observer: AbstractProbingProcess):
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


def plan_ref_channels(state: CompileState) -> None:
    """Pass: ``state.ref_channels``, the RefPort -> Var edges, numbered after the channels
    (their wire ids follow those of the channels)."""
    ids, declared = state.ids, state.declared
    asynchronous = {p for p in state.leaves if issubclass(state.model(p), AsyncProcessModel)}
    wire_base = len(state.channels)
    refs = state.ref_channels
    for process in state.leaves:
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

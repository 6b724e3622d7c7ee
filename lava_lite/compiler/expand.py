"""Hierarchy: walk the graph, choose a model per Process, build SubProcessModels' children.

A SubProcessModel builds its sub-Processes the first time it is chosen; what it built is kept
on the Process (compiling again reuses it) and taken back, through the undo log of what it
connected and aliased, when a later compilation chooses another model. The plan holds only
the leaves: Processes whose model is not a SubProcessModel.
"""
from __future__ import annotations

from dataclasses import dataclass

from lava_lite.abstract_port import AbstractPort
from lava_lite.abstract_process import AbstractProbingProcess, AbstractProcess, process_ids
from lava_lite.compiler.problems import Problems
from lava_lite.compiler.select import select_model
from lava_lite.compiler.state import CompileState
from lava_lite.errors import CompileError
from lava_lite.sub_model import SubProcessModel, is_sub_model
from lava_lite.undo_log import UndoLog, recording, undo
from lava_lite.var import Var
from lava_lite.virtual_ports import VirtualPort

MAX_HIERARCHY_DEPTH = 64


@dataclass
class _Expansion:
    """What a SubProcessModel built for a Process: kept on the Process so that compiling
    again reuses it (or takes it back when another model is chosen)."""
    model: type
    instance: SubProcessModel
    children: list[AbstractProcess]
    log: UndoLog


def port_neighbours(port: AbstractPort) -> list[AbstractProcess]:
    """Processes of the real ports linked to ``port``, looking through virtual ports.

    Parameters
    ----------
    port : AbstractPort
        A member port of a Process.
    """
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


def _is_default_name(process: AbstractProcess) -> bool:
    return process.name == f"{type(process).__name__}_{process._creation_index}"


def _children_of(instance: SubProcessModel, parent: AbstractProcess,
                 first_index: int) -> list[AbstractProcess]:
    """Processes the SubProcessModel built: its attributes (Processes, or lists, tuples and
    dicts of them), then any other Process created by it that its connections reach.
    Unnamed children are named "<parent>.<attribute>"."""
    named: dict[AbstractProcess, str] = {}

    def add(value, label: str) -> None:
        if isinstance(value, AbstractProcess) and value is not parent and value not in named:
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
        for process in port_neighbours(port):
            if process._creation_index > first_index:
                add(process, f"{type(process).__name__}_{process._creation_index}")
    for child, label in named.items():
        if _is_default_name(child):
            child.name = f"{parent.name}.{label}"
    return list(named)


def _retract(process: AbstractProcess) -> None:
    """Take back what a SubProcessModel built for ``process`` in an earlier compilation."""
    previous = process.__dict__.get("_lava_lite_expansion")
    if previous is not None:
        undo(previous.log)
        del process._lava_lite_expansion


def _expand(process: AbstractProcess, model: type) -> list[AbstractProcess]:
    """Build (or reuse) ``process``'s sub-Processes with SubProcessModel ``model``."""
    previous = process.__dict__.get("_lava_lite_expansion")
    if previous is not None and previous.model is model:
        return previous.children
    _retract(process)
    first_index = next(process_ids)
    with recording() as log:
        try:
            instance = model(process)
        except Exception as exc:
            undo(log)
            raise CompileError(
                f"SubProcessModel {model.__name__} of Process '{process.name}' "
                f"({type(process).__name__}) failed to build its sub-Processes: "
                f"{type(exc).__name__}: {exc}") from exc
    children = _children_of(instance, process, first_index)
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


def _depth(process: AbstractProcess, parent_of: dict) -> int:
    """How many parents ``process`` has; refuses nesting beyond MAX_HIERARCHY_DEPTH."""
    depth, up = 0, process
    while up in parent_of:
        depth, up = depth + 1, parent_of[up]
    if depth >= MAX_HIERARCHY_DEPTH:
        raise CompileError(
            f"Processes nest more than {MAX_HIERARCHY_DEPTH} levels deep at "
            f"'{process.name}': does a SubProcessModel build a Process of its "
            f"own class?")
    return depth


def expand_graph(state: CompileState) -> None:
    """Pass: every Process connected to ``state.start`` through ports, probes or hierarchy,
    with the model chosen for each non-probing one (SubProcessModels are built on the way,
    so their children are walked too); then the leaves, numbered in hierarchy order.

    Fills ``graph``, ``chosen``, ``parent_of``, ``leaves``, ``ids`` and ``names``. Every
    Process without a model is reported at once, after the walk.
    """
    chosen, parent_of = state.chosen, state.parent_of
    seen, frontier = {state.start}, [state.start]
    problems = Problems()
    while frontier:
        process = frontier.pop()
        neighbours = list(process._observers)
        if isinstance(process, AbstractProbingProcess):
            neighbours += [member.process for member, _ in process._probe_requests]
        else:
            with problems.collect():  # no model: reported after the walk, with the others
                chosen[process] = select_model(process, state.run_cfg)
            if process in chosen and not is_sub_model(chosen[process][0]):
                _retract(process)
            elif process in chosen:
                _depth(process, parent_of)
                children = _expand(process, chosen[process][0])
                for child in children:
                    parent_of.setdefault(child, process)
                neighbours += children
        for port in (*process.members_of(AbstractPort).values(), *process._implicit_ports):
            neighbours += port_neighbours(port)
        for other in neighbours:
            if other not in seen:
                seen.add(other)
                frontier.append(other)
    problems.raise_any()

    def key(process: AbstractProcess) -> tuple:
        up = parent_of.get(process)
        return (*(key(up) if up is not None else ()), process._creation_index)

    state.graph = sorted(seen, key=key)
    state.leaves = [p for p in state.graph if p in chosen and not is_sub_model(chosen[p][0])]
    state.ids = {p: k for k, p in enumerate(state.leaves)}
    state.names = {k: p.name for p, k in state.ids.items()}


def hierarchy_note(process: AbstractProcess, state: CompileState) -> str:
    """"; inside a (A via AModel, why) > a.b (B via BModel, why)" for a child, else ""."""
    chain = []
    up = state.parent_of.get(process)
    while up is not None:
        model, why = state.chosen[up]
        chain.append(f"{up.name} ({type(up).__name__} via {model.__name__}, {why})")
        up = state.parent_of.get(up)
    return f"; inside {' > '.join(reversed(chain))}" if chain else ""

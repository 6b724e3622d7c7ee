"""Schedule: the order in which each step runs the leaves, respecting undelayed channels.

A loop with no delayed channel is refused (every Process in it would wait for another). The
Processes a device runs (``state.groups``) form one node of the order, since the device runs
them in one step; a path with no delay that leaves a device and comes back is refused.
"""
from __future__ import annotations

import heapq

from lava_lite.compiler.state import CompileState
from lava_lite.errors import CompileError
from lava_lite.plan import ChannelPlan


def schedule(state: CompileState) -> None:
    """Pass: ``state.order``, a topological order of the leaves (by id) over undelayed
    channels, ties broken by id; refuses zero-delay loops.

    ``state.groups`` maps the ids of Processes that a device runs to that device. The device
    runs them all in one step, so each device is one node of the order: its Processes come
    out together (in their own order) and a path with no delay that leaves the device and
    comes back to it is refused.
    """
    order = _topological(list(state.ids.values()), state.channels, state.names)
    state.order = (_contract(order, state.channels, state.names, state.groups)
                   if state.groups else order)


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
    """``order`` with each device's Processes contracted into one node (see ``schedule``)."""
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

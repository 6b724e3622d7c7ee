"""Placement: which worker runs each leaf, in contiguous, cost-balanced pieces of the schedule.

Cuts between workers go where only delayed channels cross (the workers on either side then
run the same step in parallel); automatic placement (``workers=None``) adds a worker only
while each gets at least WORK_PER_EXTRA_WORKER of work. Asynchronous models get a worker of
their own.
"""
from __future__ import annotations

from lava_lite.abstract_port import AbstractPort
from lava_lite.compiler.state import CompileState
from lava_lite.errors import CompileError
from lava_lite.model import AsyncProcessModel
from lava_lite.plan import ChannelPlan
from lava_lite.run_config import PER_PROCESS
from lava_lite.var import Var

# Below this much work per step (element operations, see ProcessModel.step_cost) per worker,
# an extra worker costs more in IPC than it saves (measured: ~70 us/step of IPC vs ~2-14
# us/step of small-network math).
WORK_PER_EXTRA_WORKER = 200_000


def place(state: CompileState) -> None:
    """Pass: ``state.costs`` (each leaf's ``step_cost``), ``state.placement`` and
    ``state.num_workers``."""
    state.costs = {state.ids[p]: state.model(p).step_cost(
        {n: v.size for n, v in p.members_of(Var).items()},
        {n: port.size for n, port in p.members_of(AbstractPort).items()}) for p in state.leaves}
    placement, num_workers = _place(state.order, state.costs, state.run_cfg.workers,
                                    state.cores, state.groups, state.channels)
    state.placement, state.num_workers = _isolate_async(
        placement, num_workers, [state.ids[p] for p in state.leaves
                                 if issubclass(state.model(p), AsyncProcessModel)], state.names)


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


def _place(order: list[int], costs: dict[int, float], workers, cores: int,
           groups: dict[int, str], channels: list[ChannelPlan]) -> tuple[dict[int, int], int]:
    """Worker of each Process and the number of workers.

    ``None`` (automatic): as many workers as ``cores`` allow, but only while every worker gets
    at least WORK_PER_EXTRA_WORKER of work; a worker with less costs more in IPC than it
    saves, so small networks run in one worker. The Processes a device runs (``groups``:
    id -> device) are one unit, placed on one worker (their partition's host side).
    """
    units: list[list[int]] = []
    unit_of_device: dict[str, int] = {}
    for pid in order:
        device = groups.get(pid)
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
    placement, count = _place_units(list(range(len(units))), unit_costs, workers, cores,
                                    clean, useful)
    return {pid: placement[k] for k, unit in enumerate(units) for pid in unit}, count


def _place_units(order: list[int], costs: dict[int, float], workers, cores: int,
                 clean: set[int], useful: set[int]) -> tuple[dict[int, int], int]:
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
    for count in range(min(cores, len(order)), 0, -1):
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

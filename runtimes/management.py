"""Management phases and RefPorts of one place: the guarded phases after each step's spike
phase, and the Var accesses RefPorts make in them, within this place or to and from other
workers (one request message each way)."""
from __future__ import annotations

import numpy as np

from lava_lite.model import LoihiProcessModel
from lava_lite.plan import Plan, ref_wire_ids

PHASES = (("pre_guard", "run_pre_mgmt"), ("lrn_guard", "run_lrn"),
          ("post_guard", "run_post_mgmt"))
_EMPTY = np.zeros(0, bool)
_EMPTY.flags.writeable = False


class RuntimeRefPort:
    """What a model's RefPort is at run time: ``read()`` and ``write(data)`` the target Var
    during management phases. Same-worker targets (``target``: the hosted Process owning the
    Var, set once the place is built) are reached directly, others by one request message
    each way."""

    __slots__ = ("name", "shape", "dtype", "owner", "_executor", "_ref", "_target")

    def __init__(self, name: str, shape: tuple, dtype: np.dtype, owner: str, executor, ref,
                 target):
        self.name, self.shape, self.dtype, self.owner = name, shape, dtype, owner
        self._executor, self._ref, self._target = executor, ref, target

    def read(self) -> np.ndarray:
        self._executor.management.require_management(self)
        self._require_connected()
        if self._target is not None:
            value = self._target.get_var(self._ref.var)
        else:
            ids = ref_wire_ids(self._ref)
            value = self._executor.management.remote_access(ids.read, _EMPTY, ids.reply)
        return value.astype(self.dtype)

    def write(self, data) -> None:
        self._executor.management.require_management(self)
        self._require_connected()
        array = np.asarray(data)
        if array.shape != self.shape:
            raise ValueError(f"{self.owner}.{self.name}: wrote data of shape {array.shape}, "
                             f"but the port's shape is {self.shape}")
        array = array.astype(self._ref.dtype)
        if self._target is not None:
            self._target.set_var(self._ref.var, array)
        else:
            ids = ref_wire_ids(self._ref)
            self._executor.management.remote_access(ids.write, array, ids.ack)


    def _require_connected(self) -> None:
        if self._ref is None:
            raise RuntimeError(f"{self.owner}.{self.name}: this RefPort is not connected to a "
                               f"Var (use connect_var)")


class Management:
    """The management phases of the models hosted in one place, and the RefPort requests
    this place serves (as the owner of the Vars they reach) or makes (as the accessor).

    Parameters
    ----------
    executor : Executor
        The place's executor (its hosted models, ``by_id`` and current ``step``).
    plan : Plan
        The plan (its RefPort edges).
    ids : set[int]
        Ids of the Processes hosted here.
    transport : object or None
        What carries requests across workers (None in-process).
    """

    def __init__(self, executor, plan: Plan, ids: set[int], transport):
        self.executor, self.transport, self.by_id = executor, transport, executor.by_id
        self.lock_step = [h for h in executor.models if not h.is_async]
        # RefPort edges crossing this worker: as the accessing side, and as the Var's owner.
        self.refs_out = [r for r in plan.ref_channels if r.src in ids and r.dst not in ids]
        self.refs_in = [r for r in plan.ref_channels if r.dst in ids and r.src not in ids]
        self.request_handlers = {}
        for ref in self.refs_in:
            wire_ids = ref_wire_ids(ref)
            for phase, per_kind in enumerate(zip(wire_ids.read, wire_ids.write, wire_ids.end)):
                self.request_handlers.update({wire_id: (ref, kind, phase) for wire_id, kind
                                              in zip(per_kind, ("read", "write", "end"))})
        # In each management phase the Processes whose Vars RefPorts reach run first, so
        # every access of that phase sees (and lands after) their own code, wherever they are.
        targets = {ref.dst for ref in plan.ref_channels}
        self.phase_order = ([h for h in self.lock_step if h.spec.id in targets]
                            + [h for h in self.lock_step if h.spec.id not in targets])
        self.first_accessor = sum(h.spec.id in targets for h in self.lock_step)
        self.phase = 0
        if self.refs_in:
            transport.on_request = self.on_request
        # (step, phase) whose RefPort requests are served now, and those kept until then
        self.serving: tuple[int, int] | None = None
        self.pending_requests: dict[tuple[int, int], np.ndarray] = {}
        self.ends_received: set[tuple[int, int, int]] = set()
        self.managing = False

    def needed(self) -> bool:
        """Steps pay for management phases only where some hosted model defines a guard or a
        RefPort edge crosses this worker."""
        return bool(self.refs_in or self.refs_out) or any(
            getattr(type(h.model), guard, None) is not getattr(LoihiProcessModel, guard)
            for h in self.lock_step for guard, _ in PHASES)

    def run(self, t: int) -> None:
        """Guarded management phases of step t, in order. In each phase the Processes that
        RefPorts reach run first; then RefPort requests of that phase are served (also those
        from other workers), and the phase ends once every accessing worker said it is done
        with it. So accesses land in the same order wherever the Processes are placed."""
        self.managing = True
        try:
            for self.phase, (guard, phase) in enumerate(PHASES):
                for k, hosted in enumerate(self.phase_order):
                    if k == self.first_accessor:
                        self._open_phase(t)
                    if hosted.call(guard, t):
                        hosted.call(phase, t)
                if self.first_accessor == len(self.phase_order):
                    self._open_phase(t)
                for ref in self.refs_out:
                    self.transport.send(ref_wire_ids(ref).end[self.phase], t, _EMPTY)
                ends = {(ref.id, t, self.phase) for ref in self.refs_in}
                while not ends <= self.ends_received:
                    self.transport.wait_any()
                self.ends_received -= ends
                self.serving = None
        finally:
            self.managing = False

    def _open_phase(self, t: int) -> None:
        """Start serving RefPort requests of (step t, this phase), those kept first."""
        self.serving = (t, self.phase)
        for wire_id, step in sorted(k for k in self.pending_requests
                                    if k[1] == t and self.request_handlers[k[0]][2] == self.phase):
            self._serve(wire_id, step, self.pending_requests.pop((wire_id, step)))

    def require_management(self, port: RuntimeRefPort) -> None:
        if not self.managing:
            raise RuntimeError(f"{port.owner}.{port.name}: RefPorts read and write only in "
                               f"management phases (run_pre_mgmt, run_lrn, run_post_mgmt)")

    def remote_access(self, request_ids: tuple[int, ...], payload: np.ndarray,
                      reply_id: int) -> np.ndarray:
        t = self.executor.step + 1
        self.transport.send(request_ids[self.phase], t, payload)
        return self.transport.receive(reply_id, t)

    def on_request(self, wire_id: int, step: int, array: np.ndarray) -> None:
        """A RefPort request from another worker: served if it is for the (step, phase)
        served here now, kept until then otherwise."""
        if self.serving == (step, self.request_handlers[wire_id][2]):
            self._serve(wire_id, step, array)
        else:
            self.pending_requests[(wire_id, step)] = array

    def _serve(self, wire_id: int, step: int, array: np.ndarray) -> None:
        ref, kind, phase = self.request_handlers[wire_id]
        wire_ids = ref_wire_ids(ref)
        owner = self.by_id[ref.dst]
        if kind == "read":
            self.transport.send(wire_ids.reply, step, owner.get_var(ref.var))
        elif kind == "write":
            owner.set_var(ref.var, array)
            self.transport.send(wire_ids.ack, step, _EMPTY)
        else:
            self.ends_received.add((ref.id, step, phase))

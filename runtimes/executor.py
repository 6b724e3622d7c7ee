"""Executor: runs the lock-step schedule of the Processes hosted in one place.

The same engine serves the in-process runtime (every Process hosted, no transport) and each
worker of the multiprocess runtime (a transport carries the channels that leave the worker).
Within a step, hosted models run in schedule order; each gets all its inputs for the step
before its spike phase, so a model never blocks half-way through its own code.
"""
from __future__ import annotations

import traceback

import numpy as np

from lava_lite.errors import ProcessModelError
from lava_lite.model import REGISTRY, LoihiProcessModel
from lava_lite.plan import Plan, ProcessPlan
from lava_lite.runtimes.transforms import compile_transform

PHASES = (("pre_guard", "run_pre_mgmt"), ("lrn_guard", "run_lrn"),
          ("post_guard", "run_post_mgmt"))


class RuntimeInPort:
    """What a model's InPort is at run time: ``recv()`` returns this step's (summed) input.

    Received arrays are read-only (they may be shared with other receivers): copy before
    modifying them.
    """

    __slots__ = ("name", "shape", "dtype", "_data")

    def __init__(self, name: str, shape: tuple, dtype: np.dtype):
        self.name, self.shape, self.dtype = name, shape, dtype
        self._data = _read_only(np.zeros(shape, dtype))

    def recv(self) -> np.ndarray:
        return self._data

    def peek(self) -> np.ndarray:
        return self._data


class RuntimeOutPort:
    """What a model's OutPort is at run time: ``send(data)`` once per step."""

    __slots__ = ("name", "shape", "dtype", "owner", "pending")

    def __init__(self, name: str, shape: tuple, dtype: np.dtype, owner: str):
        self.name, self.shape, self.dtype, self.owner = name, shape, dtype, owner
        self.pending = None

    def send(self, data) -> None:
        # Always a copy: the model may change its own array before every receiver has read it.
        array = np.array(data, dtype=self.dtype)
        if array.shape != self.shape:
            raise ValueError(f"{self.owner}.{self.name}: sent data of shape {array.shape}, "
                             f"but the port's shape is {self.shape}")
        array.flags.writeable = False
        self.pending = array


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


class HostedProcess:
    """One model instance with its runtime ports, channel wiring and probe buffers."""

    def __init__(self, spec: ProcessPlan, plan: Plan, hosted_ids: set[int]):
        self.spec = spec
        self.model_name = spec.model.rsplit(":", 1)[-1].rsplit(".", 1)[-1]
        try:
            self.model = REGISTRY.resolve(spec.model)(spec.params)
        except Exception:
            raise ProcessModelError(spec.name, self.model_name, "model construction", 0,
                                    traceback.format_exc()) from None
        self.model.rng = np.random.default_rng(spec.seed)
        self.probe_buffers: dict[int, np.ndarray] = {}
        self.var_dtypes = {}
        for var in spec.vars:
            setattr(self.model, var.name, var.init.copy())
            self.var_dtypes[var.name] = np.dtype(var.dtype)
        self.inputs: list[tuple[RuntimeInPort, list[int]]] = []
        # (port, delayed, local channels, remote channels, probes of the port)
        self.outputs: list[tuple[RuntimeOutPort, bool, list[int], list[int], list]] = []
        for port in spec.ports:
            dtype = np.dtype(port.dtype)
            if port.direction == "in":
                runtime_port = RuntimeInPort(port.name, port.shape, dtype)
                channels = [c.id for c in plan.channels
                            if c.dst == spec.id and c.dst_port == port.name]
                self.inputs.append((runtime_port, channels))
            else:
                runtime_port = RuntimeOutPort(port.name, port.shape, dtype, spec.name)
                out = [c for c in plan.channels if c.src == spec.id and c.src_port == port.name]
                probes = [(self._probe_buffer(probe, port.shape, dtype), probe.num_steps)
                          for probe in spec.probes if probe.target == port.name]
                self.outputs.append((runtime_port, port.delayed,
                                     [c.id for c in out if c.dst in hosted_ids],
                                     [c.id for c in out if c.dst not in hosted_ids], probes))
            setattr(self.model, port.name, runtime_port)
        self.var_probes = [(self._probe_buffer(probe, var.shape, np.dtype(var.dtype)), var.name,
                            probe.num_steps)
                           for var in spec.vars for probe in spec.probes
                           if probe.target == var.name]
        self.run_spk = self.model.run_spk

    def _probe_buffer(self, probe, shape: tuple, dtype: np.dtype) -> np.ndarray:
        buffer = np.zeros((probe.num_steps, *shape), dtype)
        self.probe_buffers[probe.id] = buffer
        return buffer

    def call(self, phase: str, time_step: int):
        try:
            return getattr(self.model, phase)()
        except Exception:
            raise self.failure(phase, time_step) from None

    def failure(self, phase: str, time_step: int, text: str | None = None) -> ProcessModelError:
        """The error naming this Process; call while handling the model's exception."""
        return ProcessModelError(self.spec.name, self.model_name, phase, time_step,
                                 text or traceback.format_exc())

    def get_var(self, name: str) -> np.ndarray:
        return np.array(getattr(self.model, name), dtype=self.var_dtypes[name])

    def set_var(self, name: str, value: np.ndarray) -> None:
        current = getattr(self.model, name)
        if np.shape(current) != value.shape:
            raise ValueError(f"{self.spec.name}.{name}: value of shape {value.shape} does not "
                             f"fit shape {np.shape(current)}")
        setattr(self.model, name, np.array(value, dtype=self.var_dtypes[name]))


class Executor:
    """Runs steps for the hosted Processes. ``transport`` carries channels leaving this place:
    ``send(channel, step, array)`` and ``receive(channel, step)``, which blocks until the
    message arrives (storing any other message it reads into ``inbox``)."""

    def __init__(self, plan: Plan, hosted_ids: list[int], transport=None,
                 progress: np.ndarray | None = None):
        self.plan = plan
        # progress[pid]: last step whose spike phase Process pid finished (read by RunWatch)
        self.progress = np.zeros(len(plan.processes), np.int64) if progress is None else progress
        ids = set(hosted_ids)
        self.hosted = [HostedProcess(plan.process(pid), plan, ids)
                       for pid in plan.schedule if pid in ids]
        self.by_id = {h.spec.id: h for h in self.hosted}
        self.var_probing = [h for h in self.hosted if h.var_probes]
        self.transport = transport
        self.transforms = {c.id: compile_transform(c.transform) for c in plan.channels
                           if c.transform and c.dst in ids}
        self.inbox: dict[tuple[int, int], np.ndarray] = {}
        self.step = 0
        for channel in plan.channels:
            if channel.delayed and channel.dst in ids:  # nothing was sent at step 0
                self.inbox[(channel.id, 1)] = _read_only(
                    np.zeros(channel.shape, np.dtype(channel.dtype)))
        # Steps pay for management phases only where some hosted model defines a guard.
        self.uses_management = any(
            getattr(type(h.model), guard, None) is not getattr(LoihiProcessModel, guard)
            for h in self.hosted for guard, _ in PHASES)

    def _take(self, channel: int, step: int) -> np.ndarray:
        data = self.inbox.pop((channel, step), None)
        if data is None:
            data = self.transport.receive(channel, step)
        transform = self.transforms.get(channel)
        return data if transform is None else transform(data)

    def run_step(self) -> int:
        t = self.step + 1
        for hosted in self.hosted:
            hosted.model.time_step = t
            for port, channels in hosted.inputs:
                if len(channels) == 1:
                    data = self._take(channels[0], t)
                    port._data = data if data.dtype == port.dtype else _read_only(
                        data.astype(port.dtype))
                elif channels:
                    total = np.zeros(port.shape, port.dtype)
                    for channel in channels:  # fixed order: by channel id, i.e. by source
                        np.add(total, self._take(channel, t), out=total, casting="unsafe")
                    port._data = total
            try:
                hosted.run_spk()
            except Exception:
                raise hosted.failure("run_spk", t) from None
            self.progress[hosted.spec.id] = t
            for port, delayed, local, remote, probes in hosted.outputs:
                data, port.pending = port.pending, None
                if data is None:
                    if local or remote or probes:
                        raise hosted.failure(
                            "run_spk", t, f"the model did not send on OutPort '{port.name}'; "
                                          f"a lock-step model sends on each connected OutPort "
                                          f"every step")
                    continue
                arrival = t + 1 if delayed else t
                for channel in local:
                    self.inbox[(channel, arrival)] = data
                for channel in remote:
                    self.transport.send(channel, arrival, data)
                for buffer, num_steps in probes:
                    if arrival <= num_steps:  # as received: a delayed port's data a step later
                        buffer[arrival - 1] = data
        if self.uses_management:
            for guard, phase in PHASES:
                for hosted in self.hosted:
                    if hosted.call(guard, t):
                        hosted.call(phase, t)
        for hosted in self.var_probing:
            for buffer, name, num_steps in hosted.var_probes:
                if t <= num_steps:
                    buffer[t - 1] = getattr(hosted.model, name)
        self.step = t
        return t

    def probe_data(self) -> dict[int, np.ndarray]:
        return {pid: buf for h in self.hosted for pid, buf in h.probe_buffers.items()}

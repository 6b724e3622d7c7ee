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
from lava_lite.model import REGISTRY, AsyncProcessModel
from lava_lite.plan import Plan, ProcessPlan, control_wire_id
from lava_lite.runtimes.management import Management, RuntimeRefPort
from lava_lite.runtimes.partition import partition_for
from lava_lite.runtimes.ports import RuntimeInPort, RuntimeOutPort
from lava_lite.runtimes.probes import ProbeStore, probe_store
from lava_lite.runtimes.step_code import compile_step
from lava_lite.port_transforms import compile_transform, read_only

class AsyncInPort(RuntimeInPort):
    """InPort of an asynchronous model: the k-th ``recv`` blocks for step k's data."""

    __slots__ = ("count", "_hosted", "_channels")

    def recv(self) -> np.ndarray:
        self.count += 1
        executor = self._hosted.executor
        total = None
        for channel in self._channels:
            data = executor._take(channel, self.count)
            total = data.astype(self.dtype) if total is None else total + data
        self._hosted.advance(self.count)
        return total if total is not None else np.zeros(self.shape, self.dtype)


class AsyncOutPort(RuntimeOutPort):
    """OutPort of an asynchronous model: the k-th ``send`` is step k's data (k+1 if the
    port is delayed), dispatched at once."""

    __slots__ = ("count", "_hosted", "_output")

    def send(self, data, copy: bool = True) -> None:
        super().send(data, copy)
        self.count += 1
        port, delayed, local, remote, probes = self._output
        data, self.pending = self.pending, None
        arrival = self.count + 1 if delayed else self.count
        executor = self._hosted.executor
        for channel in local:
            executor.inbox[(channel, arrival)] = data
        for channel in remote:
            executor.transport.send(channel, arrival, data)
        for store in probes:
            store.record(arrival, data)
        self._hosted.advance(self.count)


def _as_dtype(data: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """What a receiving port of ``dtype`` gets: the array itself, or a read-only cast."""
    return data if data.dtype == dtype else read_only(data.astype(dtype))


_REQUESTS = (None, "pause", "stop")  # by precedence: a stop wins over a pause
_REQUEST_CODES = {request: code for code, request in enumerate(_REQUESTS)}


class HostedProcess:
    """One model instance with its runtime ports, channel wiring and probe buffers."""

    def __init__(self, spec: ProcessPlan, plan: Plan, hosted_ids: set[int], executor):
        self.spec = spec
        self.model_name = spec.model.rsplit(":", 1)[-1].rsplit(".", 1)[-1]
        try:
            self.model = REGISTRY.resolve(spec.model)(spec.params)
        except (Exception, SystemExit):
            raise ProcessModelError(spec.name, self.model_name, "model construction", 0,
                                    traceback.format_exc()) from None
        self.model.rng = np.random.default_rng(spec.seed)
        self.probe_stores: dict[int, ProbeStore] = {}  # by probe id
        self.executor = executor
        self.is_async = isinstance(self.model, AsyncProcessModel)
        self.var_dtypes = {}
        for var in spec.vars:
            setattr(self.model, var.name, var.init.copy())
            self.var_dtypes[var.name] = np.dtype(var.dtype)
        self.inputs: list[tuple[RuntimeInPort, list[int]]] = []
        self.ref_ports: list[RuntimeRefPort] = []
        # (port, delayed, local channels, remote channels, probes of the port)
        self.outputs: list[tuple[RuntimeOutPort, bool, list[int], list[int], list]] = []
        for port in spec.ports:
            dtype = np.dtype(port.dtype)
            if port.direction == "ref":
                ref = next((r for r in plan.ref_channels
                            if r.src == spec.id and r.src_port == port.name), None)
                runtime_port = RuntimeRefPort(port.name, port.shape, dtype, spec.name,
                                              executor, ref, None)
                if ref is not None:
                    self.ref_ports.append(runtime_port)
            elif port.direction == "var":
                continue  # served by the runtime; the model never sees it
            elif port.direction == "in":
                channels = [c.id for c in plan.channels
                            if c.dst == spec.id and c.dst_port == port.name]
                if self.is_async:
                    runtime_port = AsyncInPort(port.name, port.shape, dtype)
                    runtime_port.count, runtime_port._hosted = 0, self
                    runtime_port._channels = channels
                else:
                    runtime_port = RuntimeInPort(port.name, port.shape, dtype)
                    self.inputs.append((runtime_port, channels))
            else:
                runtime_port = (AsyncOutPort if self.is_async else RuntimeOutPort)(
                    port.name, port.shape, dtype, spec.name)
                out = [c for c in plan.channels if c.src == spec.id and c.src_port == port.name]
                probes = [self._probe_store(probe, port.shape, dtype)
                          for probe in spec.probes if probe.target == port.name]
                output = (runtime_port, port.delayed, [c.id for c in out if c.dst in hosted_ids],
                          [c.id for c in out if c.dst not in hosted_ids], probes)
                if self.is_async:
                    runtime_port.count, runtime_port._hosted = 0, self
                    runtime_port._output = output
                else:
                    self.outputs.append(output)
            setattr(self.model, port.name, runtime_port)
        self.var_probes = [(self._probe_store(probe, var.shape, np.dtype(var.dtype)), var.name)
                           for var in spec.vars for probe in spec.probes
                           if probe.target == var.name]
        self.run_spk = getattr(self.model, "run_spk", None)
        self.progress_index = spec.id

    def advance(self, step: int) -> None:
        """An asynchronous model reached ``step`` (through its ports)."""
        if step > self.executor.step:
            self.executor.step = step
            self.executor.progress[self.progress_index] = step

    def _probe_store(self, probe, shape: tuple, dtype: np.dtype) -> ProbeStore:
        return probe_store(self.probe_stores, probe, shape, dtype)

    def call(self, phase: str, time_step: int):
        try:
            return getattr(self.model, phase)()
        except (Exception, SystemExit):
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
        self.partitions: list = []
        try:
            self._build(plan, hosted_ids, transport)
        except BaseException:
            self.close()  # a device already started must not outlive a failed build
            raise

    def _build(self, plan: Plan, hosted_ids: list[int], transport) -> None:
        ids = set(hosted_ids)
        self.hosted, self.by_id = [], {}
        groups: dict[type, list] = {}  # partition class -> specs of its member Processes
        for pid in (pid for pid in plan.schedule if pid in ids):
            spec = plan.process(pid)
            partition_cls = partition_for(REGISTRY.resolve(spec.model))
            if partition_cls is None:
                hosted = HostedProcess(spec, plan, ids, self)
                self.hosted.append(hosted)
                self.by_id[pid] = hosted
                self.progress[pid] = 0  # built (the coordinator watches construction)
            else:
                if partition_cls not in groups:  # scheduled where its first member is
                    groups[partition_cls] = []
                    self.hosted.append(partition_cls)
                groups[partition_cls].append(spec)
        for k, unit in enumerate(self.hosted):
            if isinstance(unit, type):
                partition = unit(groups[unit], plan, ids, self)
                self.hosted[k] = partition
                self.partitions.append(partition)
                self.by_id.update({s.id: partition.member(s.id) for s in groups[unit]})
                self.progress[[s.id for s in groups[unit]]] = 0
        self.models = [h for h in self.hosted if isinstance(h, HostedProcess)]
        # Seconds each hosted unit spent computing and waiting for its inputs (run stats).
        self.computing = [0.0] * len(self.hosted)
        self.waiting = [0.0] * len(self.hosted)
        # The compiler gives an asynchronous model a worker of its own.
        self.async_model = next((h for h in self.models if h.is_async), None)
        for hosted in self.models:  # RefPorts whose target Var lives here are reached directly
            for port in hosted.ref_ports:
                port._target = self.by_id.get(port._ref.dst)
        self.management = Management(self, plan, ids, transport)
        # Controllers (models that may ask to pause/stop): their word on each step.
        here_worker = plan.process(hosted_ids[0]).worker if hosted_ids else 0
        self.controllers_here = [self.by_id[c] for c in plan.controllers if c in ids]
        self.controller_words_in = [control_wire_id(plan, c, here_worker)
                                    for c in plan.controllers if c not in ids]
        self.controller_words_out = [
            (hosted, [control_wire_id(plan, hosted.spec.id, w)
                      for w in plan.lock_step_workers() if w != here_worker])
            for hosted in self.controllers_here]
        self.var_probing = [h for h in self.models if h.var_probes]
        self.transport = transport
        self.transforms = {c.id: compile_transform(c.transform) for c in plan.channels
                           if c.transform and c.dst in ids}
        self.inbox: dict[tuple[int, int], np.ndarray] = {}
        self.step = 0
        self._wire_units(plan, ids)
        for channel in plan.channels:
            if channel.delayed and channel.dst in ids and channel.id not in self.handed_over:
                self.inbox[(channel.id, 1)] = read_only(  # nothing was sent at step 0
                    np.zeros(channel.shape, np.dtype(channel.dtype)))
        self.uses_management = self.management.needed()
        # run_step(): this place's step as straight-line code (see step_code.py)
        self.run_step, self.step_source = compile_step(self)

    def _wire_units(self, plan: Plan, ids: set[int]) -> None:
        """Work out once how each hosted unit's inputs arrive and where its outputs go.

        An input port fed by exactly one channel from a unit hosted here gets the sent array
        handed over directly (converted once if the channel has a transform or the dtypes
        differ): at once on an undelayed channel (the schedule runs the sender first), at
        the start of the next step on a delayed one. Other inputs (several channels, or a
        channel from another worker) are gathered from the inbox and the transport before
        the unit runs."""
        local = {c.id for c in plan.channels if c.src in ids and c.dst in ids}
        receiver_of: dict[int, RuntimeInPort] = {}
        gathered_per_unit = []
        for unit in self.hosted:
            gathered = []
            for port, channels in unit.inputs:
                if len(channels) == 1 and channels[0] in local:
                    receiver_of[channels[0]] = port
                elif channels:
                    gathered.append((port, channels))
            gathered_per_unit.append(gathered)
        self.handed_over = set(receiver_of)
        self.units = []  # (unit, inputs to gather, outputs) in schedule order
        for unit, gathered in zip(self.hosted, gathered_per_unit):
            outputs = []
            for port, delayed, local_ids, remote_ids, probes in unit.outputs:
                handoffs = [(receiver_of[c], self._converter(c, port.dtype, receiver_of[c]))
                            for c in local_ids if c in receiver_of]
                inboxed = [c for c in local_ids if c not in receiver_of]
                outputs.append((port, delayed, handoffs, inboxed, remote_ids, probes))
            self.units.append((unit, gathered, outputs))
        self.carried: list[tuple[RuntimeInPort, np.ndarray]] = []  # delayed handoffs
        self.model_objects = [h.model for h in self.models]

    def _converter(self, channel: int, sent: np.dtype, receiver: RuntimeInPort):
        """None if the receiver takes the sent array as it is, else the conversion."""
        transform = self.transforms.get(channel)
        if transform is None and sent == receiver.dtype:
            return None

        def convert(data: np.ndarray) -> np.ndarray:
            return _as_dtype(data if transform is None else transform(data), receiver.dtype)
        return convert

    def _take(self, channel: int, step: int) -> np.ndarray:
        """Step ``step``'s data on ``channel``, from the inbox or (blocking) the transport."""
        data = self.inbox.pop((channel, step), None)
        if data is None:
            data = self.transport.receive(channel, step)
        transform = self.transforms.get(channel)
        return data if transform is None else transform(data)

    def _gather(self, gathered: list, t: int) -> None:
        for port, channels in gathered:
            if len(channels) == 1:
                port._data = _as_dtype(self._take(channels[0], t), port.dtype)
            else:
                total = np.zeros(port.shape, port.dtype)
                for channel in channels:  # fixed order: by channel id, i.e. by source
                    np.add(total, self._take(channel, t), out=total, casting="unsafe")
                port._data = total

    def _send_run_requests(self, t: int) -> None:
        """Tell the other lock-step workers what the controllers here asked for at step t."""
        for hosted, channels in self.controller_words_out:
            word = np.array([_REQUEST_CODES[hosted.model._run_request]], np.int8)
            for channel in channels:
                self.transport.send(channel, t, word)

    @property
    def has_controllers(self) -> bool:
        """Whether a model that may ask to pause or stop runs here or sends its word here."""
        return bool(self.controllers_here or self.controller_words_in)

    def run_request(self) -> str | None:
        """'pause' or 'stop' if a controller model asked for it at the step just run."""
        if not self.has_controllers:
            return None
        codes = set()
        for hosted in self.controllers_here:
            codes.add(_REQUEST_CODES[hosted.model._run_request])
            hosted.model._run_request = None
        for channel in self.controller_words_in:
            codes.add(int(self.transport.receive(channel, self.step)[0]))
        return _REQUESTS[max(codes)]

    def probe_data(self) -> dict[int, np.ndarray]:
        """The rows each probe hosted here recorded, in time order, by probe id: views of
        the stores where possible (see ``ProbeStore.recorded``); ``probing.assemble`` turns
        them into what ``Monitor.get_data()`` returns."""
        return {pid: store.recorded() for h in self.hosted
                for pid, store in h.probe_stores.items()}

    def stats(self) -> tuple[list[int], np.ndarray]:
        """Process ids and, for each, [seconds computing, seconds waiting for input]; a
        partition's time is split evenly between its member Processes."""
        ids, rows = [], []
        for k, hosted in enumerate(self.hosted):
            members = np.atleast_1d(hosted.progress_index).tolist()
            ids += members
            rows += [[self.computing[k] / len(members), self.waiting[k] / len(members)]
                     for _ in members]
        return ids, np.array(rows, np.float64).reshape(-1, 2)

    def check_devices(self) -> None:
        """Raise ProcessModelError if a device of a partition here has gone (while idle)."""
        for partition in self.partitions:
            partition.check_alive()

    def close(self) -> None:
        """Release devices held by partitions."""
        for partition in self.partitions:
            partition.close()

"""Partitions: several Processes run as one unit by a device (a neuromorphic chip behind its
driver), found through the device registry (``lava_lite.backends``) by the resource their
models require.

The executor schedules a partition at the place of its first Process. Each step it fills
the partition's ``inputs`` (ports of member Processes fed from outside the partition), calls
``run_spk`` (the device runs one step) and sends what the partition left in its ``outputs``
(ports of member Processes read outside the partition); channels between members are the
device's business. ``member(pid)`` gives get/set access to one member Process.
"""
from __future__ import annotations

import traceback

import numpy as np

from lava_lite.errors import ProcessModelError
from lava_lite.backends import device_of
from lava_lite.runtimes.ports import RuntimeInPort, RuntimeOutPort
from lava_lite.runtimes.probes import probe_store

def partition_for(model_cls) -> type["Partition"] | None:
    """The partition class of the device that runs ``model_cls`` (``lava_lite.backends``:
    the device whose resource the model requires); None for host models."""
    found = device_of(model_cls)
    return None if found is None else found.partition


class Partition:
    """Base of device partitions: the device API's runtime side.

    The executor builds a partition with the plans of its member Processes (``specs``), the
    plan, the ids hosted in this place and itself; then each step it fills the partition's
    ``inputs``, calls ``run_spk``, sends what the partition's ``outputs`` hold and calls
    ``record_probes``. ``inputs`` is ``[(RuntimeInPort, [channel ids])]`` and ``outputs``
    ``[(RuntimeOutPort, delayed, local channel ids, remote channel ids, probe stores)]``, as
    for a hosted Process; ``wire_ports`` sets both (and the probe stores) for the ports that
    connect members to the rest of the graph, so that a device only implements the methods
    below.

    Parameters
    ----------
    specs : list[ProcessPlan]
        The member Processes (those whose models require the device's resource).
    plan : Plan
        The whole plan (channels, probes, device options).
    hosted_ids : set[int]
        Ids of the Processes hosted in this place (a channel to one of them is local).
    executor : Executor
        The place's executor.
    """

    name: str = "partition"
    model_name: str = "Partition"

    def __init__(self, specs: list, plan, hosted_ids: set[int], executor):
        self.specs = specs
        self.progress_index = [spec.id for spec in specs]
        self.inputs: list = []
        self.outputs: list = []
        self.probe_stores: dict = {}  # probe id -> runtimes.probes.ProbeStore
        self.ref_ports: list = []
        self.in_ports: dict = {}  # (process id, port name) -> RuntimeInPort (wire_ports)
        self.out_ports: dict = {}  # (process id, port name) -> RuntimeOutPort
        self.var_probes: list = []  # (store, process id, Var name)

    def wire_ports(self, plan, hosted_ids: set[int]) -> None:
        """Make the runtime ports of the members' ports that connect to the rest of the graph:
        ``inputs`` for InPorts fed from outside the partition, ``outputs`` for OutPorts read
        outside it or probed, kept by (process id, port name) in ``in_ports`` and
        ``out_ports``; ``var_probes``: (store, process id, Var name) of probed Vars."""
        members = {spec.id for spec in self.specs}
        for spec in self.specs:
            for port in spec.ports:
                dtype = np.dtype(port.dtype)
                if port.direction == "in":
                    channels = [c.id for c in plan.channels if c.dst == spec.id
                                and c.dst_port == port.name and c.src not in members]
                    if channels:
                        runtime_port = RuntimeInPort(port.name, port.shape, dtype)
                        self.in_ports[(spec.id, port.name)] = runtime_port
                        self.inputs.append((runtime_port, channels))
                elif port.direction == "out":
                    out = [c for c in plan.channels if c.src == spec.id
                           and c.src_port == port.name and c.dst not in members]
                    probes = [probe_store(self.probe_stores, probe, port.shape, dtype)
                              for probe in spec.probes if probe.target == port.name]
                    if out or probes:
                        runtime_port = RuntimeOutPort(port.name, port.shape, dtype, spec.name)
                        self.out_ports[(spec.id, port.name)] = runtime_port
                        self.outputs.append((runtime_port, port.delayed,
                                             [c.id for c in out if c.dst in hosted_ids],
                                             [c.id for c in out if c.dst not in hosted_ids],
                                             probes))
            for var in spec.vars:
                self.var_probes += [
                    (probe_store(self.probe_stores, probe, var.shape, np.dtype(var.dtype)),
                     spec.id, var.name)
                    for probe in spec.probes if probe.kind == "var" and probe.target == var.name]

    def run_spk(self) -> None:
        """Run one step on the device: read ``inputs``, send on ``outputs``."""
        raise NotImplementedError

    def record_probes(self, time_step: int) -> None:
        """Record probed Vars of member Processes at the end of ``time_step`` (by default
        the ``var_probes`` that ``wire_ports`` made, read with ``get_var``)."""
        for store, process_id, name in self.var_probes:
            store.record(time_step, self.get_var(process_id, name))

    def get_var(self, process_id: int, name: str) -> np.ndarray:
        raise NotImplementedError

    def set_var(self, process_id: int, name: str, value: np.ndarray) -> None:
        raise NotImplementedError

    def check_alive(self) -> None:
        """Raise (the error of ``failure``) if the device has gone; called while idle."""

    def close(self) -> None:
        """Release the device (called when the run ends, however it ends)."""

    def member(self, process_id: int) -> "PartitionMember":
        return PartitionMember(self, process_id)

    def failure(self, phase: str, time_step: int, text: str | None = None) -> ProcessModelError:
        """The error naming this partition; call while handling the device's exception."""
        return ProcessModelError(self.name, self.model_name, phase, time_step,
                                 text or traceback.format_exc())


class PartitionMember:
    """get/set of one Process that lives in a partition."""

    def __init__(self, partition: Partition, process_id: int):
        self.partition, self.process_id = partition, process_id

    def get_var(self, name: str) -> np.ndarray:
        return self.partition.get_var(self.process_id, name)

    def set_var(self, name: str, value: np.ndarray) -> None:
        self.partition.set_var(self.process_id, name, value)

    def failure(self, phase: str, time_step: int, text: str | None = None) -> ProcessModelError:
        return self.partition.failure(phase, time_step, text)

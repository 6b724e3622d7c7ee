"""Partitions: several Processes run as one unit by a device (a neuromorphic chip behind its
driver), found through a registry keyed by the resource their models require.

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
from lava_lite.model import Resource

_PARTITIONS: dict[type[Resource], type["Partition"]] = {}


def register_partition(resource: type[Resource], partition_cls: type["Partition"]) -> None:
    _PARTITIONS[resource] = partition_cls


def partition_for(model_cls) -> type["Partition"] | None:
    """The partition class that runs models requiring one of the registered resources."""
    for resource in getattr(model_cls, "required_resources", ()):
        for registered, partition_cls in _PARTITIONS.items():
            if issubclass(resource, registered):
                return partition_cls
    return None


class Partition:
    """Base of device partitions. Subclasses set ``inputs`` and ``outputs`` in the same form
    as a hosted Process (``[(RuntimeInPort, [channel ids])]`` and ``[(RuntimeOutPort,
    delayed, local channel ids, remote channel ids, probes)]``), ``probe_stores`` (probe id
    -> ProbeStore) and implement the methods below."""

    name: str = "partition"
    model_name: str = "Partition"

    def __init__(self, specs: list, plan, hosted_ids: set[int], executor):
        self.specs = specs
        self.progress_index = [spec.id for spec in specs]
        self.inputs: list = []
        self.outputs: list = []
        self.probe_stores: dict = {}  # probe id -> runtimes.probes.ProbeStore
        self.ref_ports: list = []

    def run_spk(self) -> None:
        """Run one step on the device."""
        raise NotImplementedError

    def record_probes(self, time_step: int) -> None:
        """Record probed Vars of member Processes at the end of ``time_step``."""

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

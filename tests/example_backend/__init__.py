"""An example accelerator backend, written only against lava_lite's public device API, as a
third party would: a resource, a device model for the library's Dense, a partition that runs
it, an options schema and a compile-time check, registered by ``register()`` (the entry
point ``lava_lite.backends: example``).

The "accelerator" computes a Dense's output as ``gain * weights @ s_in`` (graded input),
delivered one step later like every Dense (its ``a_out`` is declared delayed); ``gain`` is a
device option.
"""
from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from lava_lite import (CompileError, DeviceProcessModel, InPortType, OutPortType, Resource,
                       VarType, implements, requires, tag)
from lava_lite.backends import Device, device, register_device
from lava_lite.proc_lib import Dense
from lava_lite.runtimes import Partition

NAME = "example"
MAX_SYNAPSES = 10_000  # what one example accelerator holds


class ExampleCore(Resource):
    """The compute unit of the example accelerator."""


class ExampleOptions(BaseModel):
    """``RunConfig(target="example", device_options={"gain": ...})``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    gain: float = Field(1.0, gt=0)


@implements(proc=Dense)
@requires(ExampleCore)
@tag("example")
class ExampleDense(DeviceProcessModel):
    """Dense on the example accelerator (graded input, float weights)."""

    s_in = InPortType(np.float64)
    a_out = OutPortType(np.float64, delayed=True)
    weights = VarType(np.float64)


class ExamplePartition(Partition):
    """Runs every ExampleDense of a place."""

    model_name = "ExamplePartition"

    def __init__(self, specs, plan, hosted_ids, executor):
        super().__init__(specs, plan, hosted_ids, executor)
        self.name = f"example[{', '.join(s.name for s in specs)}]"
        self.gain = device(NAME).parse_options(plan.device_options.get(NAME, {})).gain
        self.weights = {s.id: next(v.init for v in s.vars if v.name == "weights").copy()
                        for s in specs}
        self.wire_ports(plan, hosted_ids)

    def run_spk(self) -> None:
        for spec in self.specs:
            port = self.in_ports.get((spec.id, "s_in"))
            x = port.recv() if port is not None else np.zeros(self.weights[spec.id].shape[1])
            out = self.out_ports.get((spec.id, "a_out"))
            if out is not None:  # (a_out is delayed: the runtime delivers it next step)
                out.send(self.gain * (self.weights[spec.id] @ x))

    def get_var(self, process_id: int, name: str) -> np.ndarray:
        if name != "weights":
            raise KeyError(f"the example accelerator holds no Var '{name}'")
        return self.weights[process_id].copy()

    def set_var(self, process_id: int, name: str, value: np.ndarray) -> None:
        current = self.get_var(process_id, name)
        if value.shape != current.shape:
            raise ValueError(f"weights of shape {value.shape} do not fit {current.shape}")
        self.weights[process_id] = np.array(value, np.float64)


def check(plan, options: ExampleOptions) -> None:
    """Refuse a Dense larger than the accelerator holds, naming it."""
    for process in plan.processes:
        if process.model.endswith(ExampleDense.__qualname__):
            size = next(v for v in process.vars if v.name == "weights").init.size
            if size > MAX_SYNAPSES:
                raise CompileError(f"Process '{process.name}': {size} synapses do not fit the "
                                   f"example accelerator (at most {MAX_SYNAPSES}, target "
                                   f"'{NAME}', resource ExampleCore)")


def register() -> None:
    """The entry point: make ``RunConfig(target="example")`` available."""
    register_device(Device(name=NAME, resource=ExampleCore, partition=ExamplePartition,
                           options=ExampleOptions, check=check, host_tag="floating_pt"))

"""The executable plan: pure data that a runtime needs to run a graph.

It names, for each leaf Process, its model (by import path), initial Var values, ports,
the channels between ports, and the worker it is placed on. Arrays stay ndarrays in memory
and become ``{dtype, shape, base64}`` only when the plan is written as JSON.
"""
from __future__ import annotations

import base64
from typing import Annotated, Any, Literal, NamedTuple

import numpy as np
from pydantic import (BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator,
                      WithJsonSchema, model_validator)


def _array_from_json(value: Any) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, dict) and {"dtype", "shape", "base64"} <= value.keys():
        raw = base64.b64decode(value["base64"])
        return np.frombuffer(raw, dtype=np.dtype(value["dtype"])).reshape(value["shape"]).copy()
    raise ValueError(f"expected an ndarray or {{dtype, shape, base64}}, got {type(value).__name__}")


def _array_to_json(array: np.ndarray) -> dict:
    contiguous = np.ascontiguousarray(array)
    return {"dtype": contiguous.dtype.str, "shape": list(contiguous.shape),
            "base64": base64.b64encode(contiguous.tobytes()).decode("ascii")}


ArrayField = Annotated[
    np.ndarray,
    PlainValidator(_array_from_json),
    PlainSerializer(_array_to_json, when_used="json"),
    WithJsonSchema({"type": "object", "properties": {
        "dtype": {"type": "string"}, "shape": {"type": "array"}, "base64": {"type": "string"}}}),
]


def _describe(step: dict[str, Any]) -> str:
    """``reshape [2, 3]`` for ``{"op": "reshape", "shape": [2, 3]}``."""
    return " ".join([step["op"], *(str(v) for k, v in step.items() if k != "op")])


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class VarPlan(_Frozen):
    name: str
    shape: tuple[int, ...]
    dtype: str
    precision: int | None = None
    init: ArrayField


class PortPlan(_Frozen):
    name: str
    direction: Literal["in", "out", "ref", "var"]
    shape: tuple[int, ...]
    dtype: str
    delayed: bool = False


class ProbePlan(_Frozen):
    """Record ``target`` (a Var, or the data an OutPort sends) for steps 1..``num_steps``.

    ``buffer``: keep only the last ``buffer`` steps recorded (a rolling window); then
    ``num_steps`` may be None, meaning every step of the run. A probe without ``buffer``
    needs ``num_steps``.
    """
    id: int
    monitor: str
    target: str
    kind: Literal["var", "out_port"]
    num_steps: int | None = Field(None, ge=1)
    buffer: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _bounded(self) -> "ProbePlan":
        if self.num_steps is None and self.buffer is None:
            raise ValueError(f"probe of {self.target} by {self.monitor}: give num_steps or "
                             f"buffer")
        return self


class ProcessPlan(_Frozen):
    id: int
    name: str
    process_class: str
    model: str
    model_choice: str  # why this model was chosen
    params: dict[str, Any]
    vars: tuple[VarPlan, ...]
    ports: tuple[PortPlan, ...]
    probes: tuple[ProbePlan, ...] = ()
    worker: int
    seed: int
    cost: float


class ChannelPlan(_Frozen):
    """One OutPort -> InPort edge. ``delayed``: data sent at step t is received at step t+1.

    ``shape`` is what travels (the sending port's shape). ``transform`` lists the port
    transforms (reshape, transpose, concat placement, ...) the receiver applies, in order, to
    turn that into data of the receiving port's shape; see ``lava_lite.port_transforms``.
    """
    id: int
    src: int
    src_port: str
    dst: int
    dst_port: str
    shape: tuple[int, ...]
    dtype: str
    delayed: bool
    transform: tuple[dict[str, Any], ...] = ()


class RefChannelPlan(_Frozen):
    """RefPort ``src_port`` of Process ``src`` reaching Var ``var`` of Process ``dst``.

    On the wire each access is a request answered before the next (a read by the value, a
    write by an empty ack), and the RefPort side ends each management phase with an empty
    ``end`` message, after which the owner may go on to its next phase. ``wire_base`` is
    the first of the REF_WIRE_IDS_PER_EDGE wire ids this edge uses (see ref_wire_ids).
    """
    id: int
    src: int
    src_port: str
    dst: int
    var: str
    shape: tuple[int, ...]
    dtype: str  # the Var's dtype on its owner's model
    wire_base: int


MANAGEMENT_PHASES = 3  # pre-management, learning, post-management
REF_WIRE_IDS_PER_EDGE = 3 * MANAGEMENT_PHASES + 2


class RefWireIds(NamedTuple):
    read: tuple[int, ...]  # one id per management phase
    write: tuple[int, ...]
    end: tuple[int, ...]
    reply: int
    ack: int


def ref_wire_ids(ref: RefChannelPlan) -> RefWireIds:
    ids = list(range(ref.wire_base, ref.wire_base + REF_WIRE_IDS_PER_EDGE))
    phases = MANAGEMENT_PHASES
    return RefWireIds(tuple(ids[:phases]), tuple(ids[phases:2 * phases]),
                      tuple(ids[2 * phases:3 * phases]), ids[-2], ids[-1])


def control_wire_id(plan: "Plan", controller: int, worker: int) -> int:
    """Wire id of the per-step word of controller Process ``controller`` to ``worker``."""
    base = len(plan.channels) + REF_WIRE_IDS_PER_EDGE * len(plan.ref_channels)
    return base + plan.controllers.index(controller) * max(1, plan.num_workers) + worker


class Plan(_Frozen):
    processes: tuple[ProcessPlan, ...]
    channels: tuple[ChannelPlan, ...]
    ref_channels: tuple[RefChannelPlan, ...] = ()
    # Processes whose model may ask to pause/stop the run (``controls_run``); every worker
    # waits for their word on step t before it starts step t+1.
    controllers: tuple[int, ...] = ()
    # Processes with asynchronous models (each alone on its worker; not held to steps).
    asynchronous: tuple[int, ...] = ()

    def lock_step_workers(self) -> list[int]:
        """Workers that run steps (not an asynchronous model's loop)."""
        free_running = {self.processes[pid].worker for pid in self.asynchronous}
        return sorted({p.worker for p in self.processes} - free_running)
    schedule: tuple[int, ...]  # process ids in an order that respects undelayed channels
    num_workers: int  # 0: run in the user's process
    runtime: str
    root_seed: int
    # Options of each device some Process runs on (e.g. {"chip": {"neurons_per_core": 64}}).
    device_options: dict[str, dict[str, Any]] = {}

    def process(self, process_id: int) -> ProcessPlan:
        return self.processes[process_id]

    def on_worker(self, worker: int) -> list[ProcessPlan]:
        """Processes hosted by ``worker``, in schedule order."""
        return [self.processes[i] for i in self.schedule if self.processes[i].worker == worker]

    def summary(self) -> str:
        """A readable table: each Process, its model, why it was chosen, and where it runs."""
        lines = [f"plan: {len(self.processes)} processes, {len(self.channels)} channels, "
                 f"runtime {self.runtime}, workers {self.num_workers}"]
        for p in self.processes:
            lines.append(f"  [{p.worker}] {p.name} ({p.process_class.rsplit(':', 1)[-1]}) -> "
                         f"{p.model.rsplit(':', 1)[-1]}: {p.model_choice}")
        for c in self.channels:
            lag = " (delayed)" if c.delayed else ""
            steps = ", ".join(_describe(step) for step in c.transform)
            shaped = f" [{steps}]" if steps else ""
            lines.append(f"  {self.processes[c.src].name}.{c.src_port} -> "
                         f"{self.processes[c.dst].name}.{c.dst_port}{lag}{shaped}")
        for r in self.ref_channels:
            lines.append(f"  {self.processes[r.src].name}.{r.src_port} ~> "
                         f"{self.processes[r.dst].name}.{r.var} (RefPort)")
        return "\n".join(lines)

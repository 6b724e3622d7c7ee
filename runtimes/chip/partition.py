"""ChipPartition: the Processes whose models require NeuroCore, run by one chip as one unit.

The executor gives the partition every chip Process it hosts (the compiler puts them all on
one worker and schedules them as one node). At start the partition maps them to a chip
configuration (``mapping.py``), starts the emulated chip (or connects to the one at
``chip_options["address"]``, with the CurveZMQ keys in ``chip_options["keys"]``) and loads
it. Each step it sends the data of its ports fed by CPU Processes, runs one chip step and
hands the outputs read by CPU Processes or Monitors back to the executor, which sends them on
as a hosted Process would. get/set and probes go through the driver; ``close()`` ends the
chip it started.
"""
from __future__ import annotations

import traceback
from pathlib import Path

import numpy as np
from pydantic import (BaseModel, ConfigDict, Field, ValidationInfo,
                      field_validator)

from lava_lite import fixed_point as fxp
from lava_lite.backends import device
from lava_lite.errors import CompileError, ProcessModelError
from lava_lite.model import REGISTRY
from lava_lite.runtimes.chip.config import ChipError, ChipLimitError, ChipLimits
from lava_lite.runtimes.chip.keys import client_keys, is_loopback
from lava_lite.runtimes.chip.mapping import LIF, map_partition
from lava_lite.runtimes.chip.zmq_driver import ChipRequestError, ZmqChipDriver
from lava_lite.runtimes.ports import RuntimeInPort, RuntimeOutPort
from lava_lite.runtimes.partition import Partition, partition_for
from lava_lite.runtimes.probes import ProbeStore, probe_store

DEVICE = "chip"


class ChipOptions(BaseModel):
    """``RunConfig(chip_options={...})``: ``address`` of a running emulator (None: start
    one), ``keys`` (the directory of its CurveZMQ keys, needed unless the address is on this
    machine), the chip's limits, and ``timeout`` (seconds to wait for an answer)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    address: str | None = None
    keys: Path | None = Field(None, validate_default=True)
    num_cores: int = Field(ChipLimits().num_cores, ge=1)
    neurons_per_core: int = Field(ChipLimits().neurons_per_core, ge=1)
    synapses_per_core: int = Field(ChipLimits().synapses_per_core, ge=1)
    timeout: float | None = Field(None, gt=0)

    @field_validator("address")
    @classmethod
    def _address(cls, value):
        if value is not None and not value.startswith(("ipc://", "tcp://")):
            raise ValueError("must start with ipc:// or tcp://")
        return value

    @field_validator("keys")
    @classmethod
    def _keys(cls, value, info: ValidationInfo):
        if "address" not in info.data:
            return value  # the address itself was refused: that is the error to report
        address = info.data["address"]
        if value is None:
            if address is not None and not is_loopback(address):
                raise ValueError(f"the chip at {address} is reached over the network: give "
                                 f"the directory of its CurveZMQ keys (chip.key and "
                                 f"client.key_secret, made by lava-lite-chip --keys DIR)")
            return value
        if address is None:
            raise ValueError("keys are for a chip started by hand: give its address too (the "
                             "chip the runtime starts needs none)")
        client_keys(value)  # refuse a directory without the files the driver will need
        return value

    def limits(self) -> ChipLimits:
        return ChipLimits(num_cores=self.num_cores, neurons_per_core=self.neurons_per_core,
                          synapses_per_core=self.synapses_per_core)


def chip_members(plan) -> list:
    return [p for p in plan.processes
            if partition_for(REGISTRY.resolve(p.model)) is ChipPartition]


def check_plan(plan, options: ChipOptions) -> None:
    """Compile-time check of the "chip" device: map the chip's Processes with the configured
    limits; refuse what does not fit."""
    try:
        map_partition(chip_members(plan), plan.channels, options.limits())
    except ChipLimitError as exc:
        raise CompileError(f"{exc} (target 'chip', resource NeuroCore)") from None


class ChipPartition(Partition):
    model_name = "ChipPartition"

    def __init__(self, specs: list, plan, hosted_ids: set[int], executor):
        super().__init__(specs, plan, hosted_ids, executor)
        self.by_id = {s.id: s for s in specs}
        self.name = f"chip[{', '.join(s.name for s in specs)}]"
        self.step = 0
        self.driver: ZmqChipDriver | None = None
        self.culprit: str | None = None  # the Process the last chip error named
        self.readout_values: list[np.ndarray] = []
        try:
            options = device(DEVICE).parse_options(plan.device_options.get(DEVICE, {}))
            self.driver = ZmqChipDriver(options.address, options.limits(), options.timeout,
                                        options.keys)
            self.info = self.driver.open()
            self.mapping = map_partition(specs, plan.channels, self.info.limits)
            self.driver.load(self.mapping.config)
            self.roles = self.mapping.kinds  # how the chip holds each Process
            self._wire(plan, hosted_ids)
        except Exception as exc:
            group = getattr(exc, "group", None)
            text = traceback.format_exc()
            self.close()
            raise ProcessModelError(group or self.name, self._model_of(group),
                                    "chip configuration", 0, text) from None
        except BaseException:
            self.close()
            raise

    @property
    def pid(self) -> int | None:
        """OS process id of the emulated chip."""
        return None if self.driver is None else self.driver.pid

    def _model_of(self, name: str | None) -> str:
        spec = next((s for s in self.specs if s.name == name), None)
        return self.model_name if spec is None else spec.model.rsplit(":", 1)[-1]

    def _wire(self, plan, hosted_ids: set[int]) -> None:
        ports = {(s.id, p.name): p for s in self.specs for p in s.ports}
        for pid, name, channel_ids in self.mapping.inputs:
            port = ports[(pid, name)]
            self.inputs.append((RuntimeInPort(name, port.shape, np.dtype(port.dtype)),
                                channel_ids))
        for pid, name in self.mapping.outputs:
            spec, port = self.by_id[pid], ports[(pid, name)]
            dtype = np.dtype(port.dtype)
            out = [c for c in plan.channels if c.src == pid and c.src_port == name
                   and c.dst not in self.by_id]
            probes = [self._probe_store(probe, port.shape, dtype)
                      for probe in spec.probes if probe.target == name]
            self.outputs.append((RuntimeOutPort(name, port.shape, dtype, spec.name),
                                 port.delayed, [c.id for c in out if c.dst in hosted_ids],
                                 [c.id for c in out if c.dst not in hosted_ids], probes))
        # Host copies of synapse Vars: the values as given (the chip holds quantized ones).
        self.mirror = {s.id: {v.name: v.init.copy() for v in s.vars}
                       for s in self.specs if self.roles[s.id] != LIF}
        self.var_probes = []  # (store, readout index or (pid, var))
        readouts, readout = self.mapping.readouts, 0  # (in the order the mapping made them)
        for spec in sorted(self.specs, key=lambda s: s.id):
            for probe in spec.probes:
                if probe.kind != "var":
                    continue
                var = next(v for v in spec.vars if v.name == probe.target)
                store = self._probe_store(probe, var.shape, np.dtype(var.dtype))
                if readout < len(readouts) and readouts[readout] == (spec.id, probe.target):
                    self.var_probes.append((store, readout))
                    readout += 1
                else:
                    self.var_probes.append((store, (spec.id, probe.target)))

    def _probe_store(self, probe, shape: tuple, dtype: np.dtype) -> ProbeStore:
        return probe_store(self.probe_stores, probe, shape, dtype)

    # -- steps -----------------------------------------------------------------------------
    def run_spk(self) -> None:
        self.culprit = None
        try:
            result = self.driver.step([port._data for port, _ in self.inputs])
        except ChipError as exc:
            self.culprit = exc.group
            if isinstance(exc, ChipRequestError) and exc.kind == "overflow":
                raise OverflowError(self._overflow_text(exc)) from None
            raise
        self.step = result.step
        for (port, *_), data in zip(self.outputs, result.outputs):
            port.send(data.reshape(port.shape))
        self.readout_values = result.readouts

    def _overflow_text(self, exc: ChipRequestError) -> str:
        """The CPU fixed-point LIF's message for the same overflow."""
        spec = next(s for s in self.specs if s.name == exc.group)
        shape = next(v.shape for v in spec.vars if v.name == "u")
        where = ""
        if len(shape) > 1:
            where = " (as (row, col, ...) indices: " + ", ".join(
                str(tuple(int(i) for i in np.unravel_index(k, shape)))
                for k in exc.indices[:5]) + ")"
        return (f"strict_overflow: {exc}{where}; the state is left as it was before this "
                f"step")

    def record_probes(self, time_step: int) -> None:
        for store, source in self.var_probes:
            value = (self.readout_values[source] if isinstance(source, int)
                     else self.mirror[source[0]][source[1]])
            store.record(time_step, value.reshape(store.rows.shape[1:]))

    def failure(self, phase: str, time_step: int, text: str | None = None) -> ProcessModelError:
        name = self.culprit if any(s.name == self.culprit for s in self.specs) else self.name
        return ProcessModelError(name, self._model_of(name), phase, time_step,
                                 text or traceback.format_exc())

    # -- state -----------------------------------------------------------------------------
    def _var(self, process_id: int, name: str):
        spec = self.by_id[process_id]
        var = next((v for v in spec.vars if v.name == name), None)
        if var is None:
            raise KeyError(f"Process '{spec.name}' has no Var '{name}'")
        return spec, var

    def get_var(self, process_id: int, name: str) -> np.ndarray:
        spec, var = self._var(process_id, name)
        if self.roles[process_id] != LIF:
            return self.mirror[process_id][name].copy()
        value = self.driver.read_state(spec.name, name)
        if var.shape != () and int(np.prod(var.shape)) != value.size:
            value = value[:int(np.prod(var.shape))]  # du, dv, vth: one value per population
        return value.reshape(var.shape).astype(np.dtype(var.dtype))

    def set_var(self, process_id: int, name: str, value: np.ndarray) -> None:
        spec, var = self._var(process_id, name)
        value = np.asarray(value)
        if value.shape != tuple(var.shape):
            raise ValueError(f"{spec.name}.{name}: value of shape {value.shape} does not fit "
                             f"shape {tuple(var.shape)}")
        value = value.astype(np.dtype(var.dtype))
        if self.roles[process_id] == LIF:
            size = next(g.size for g in self.mapping.config.spec.compartments
                        if g.name == spec.name)
            flat = np.broadcast_to(value.reshape(-1), (size,)) if value.size == 1 else \
                value.reshape(-1)
            self.driver.write_state(spec.name, name, flat.astype(np.int32))
            return
        if name != "weights":
            raise ValueError(f"{spec.name}.{name}: on the chip the structure of a sparse "
                             f"synapse table (indices, indptr) is fixed when the run starts; "
                             f"only weights can be set")
        if not spec.params.get("clip_weights", True):
            try:
                fxp.check_weights_fit(value)
            except ValueError as exc:
                raise ValueError(f"Process '{spec.name}': {exc}, and clip_weights=False asks "
                                 f"not to clip them") from None
        quantized = fxp.quantize_weights(value, spec.params["num_weight_bits"])
        self.driver.write_state(spec.name, "weights", quantized.astype(np.int32))
        self.mirror[process_id][name] = value.copy()

    def check_alive(self) -> None:
        """Raise the failure of the chip's Processes if the chip has gone (while idle)."""
        if self.driver is None:
            return
        try:
            self.driver.check_alive()
        except ChipError:
            raise self.failure("idle", self.step) from None

    def close(self) -> None:
        driver, self.driver = self.driver, None
        if driver is not None:
            driver.close()

"""What a chip runs: its limits and a configuration (neurocores, compartments, synapse tables,
routes), as pure data that the host-side mapper (``mapping.py``) writes and the chip loads.

The chip model
--------------
- ``num_cores`` neurocores. Core ``k`` holds up to ``neurons_per_core`` compartments (the
  state of one LIF neuron each: u, v and its parameters) and up to ``synapses_per_core``
  synapses (8-bit weight mantissas of the synapse tables feeding its compartments).
- Compartments are numbered chip-wide, core after core, so the compartments of one LIF
  population (which may span several cores) form one contiguous range.
- A *synapse group* is one Dense or Sparse Process: its quantized weight mantissas, shared
  ``weight_exp`` and input mode (binary spikes, or graded payloads of ``message_bits``).
  Its rows are stored in *blocks*, each on one core: a block computes the activation of some
  rows and adds it to the dendritic accumulators of compartments (on its own core), or hands
  it to the host (a block of rows read by the host occupies cores of its own; each row counts
  as a compartment there).
- *Routes* carry the spikes a compartment range fires at step t to a synapse group's input
  axons at the same step; the group's activation reaches its compartments at step t+1 (the
  one-step delay of Dense/Sparse on the CPU).
- The host injects, per step, currents into compartments (a LIF ``a_in`` fed from the CPU)
  and payloads into axons (a Dense/Sparse ``s_in`` fed from the CPU), and reads spikes of
  compartment groups, activations of synapse groups and per-step state readouts (probes).

Arrays travel beside the structure, keyed by name (see ``array key`` fields).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from lava_lite import fixed_point as fxp

DEFAULT_NUM_CORES = 128  # Loihi 1 has 128 neurocores per chip
DEFAULT_NEURONS_PER_CORE = 1024  # ... 1024 compartments each
# Loihi 1 has 128 KiB of synaptic memory per core: about 64 Ki synapses of 16 bits.
DEFAULT_SYNAPSES_PER_CORE = 65536
DEFAULT_MAX_MESSAGE_BITS = fxp.GRADED_SPIKE_BITS  # graded spike payloads (as Loihi 2)

#: State and parameters of one compartment, as the chip holds them (int32 arrays), with the
#: register each lives in: (bits, signed), the widths of ``lava_lite.fixed_point``.
COMPARTMENT_REGISTERS = {
    "u": (fxp.STATE_BITS, True),
    "v": (fxp.STATE_BITS, True),
    "du": (fxp.DECAY_BITS, False),
    "dv": (fxp.DECAY_BITS, False),
    "vth": (fxp.VTH_BITS, False),
    "bias_mant": (fxp.BIAS_MANT_BITS, True),
    "bias_exp": (fxp.BIAS_EXP_BITS, False),
}
COMPARTMENT_VARS = tuple(COMPARTMENT_REGISTERS)


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ChipLimits(_Spec):
    """Size of one chip. Every field is a hard limit the chip checks when it loads."""

    num_cores: int = Field(DEFAULT_NUM_CORES, ge=1, le=1 << 20)
    neurons_per_core: int = Field(DEFAULT_NEURONS_PER_CORE, ge=1, le=1 << 24)
    synapses_per_core: int = Field(DEFAULT_SYNAPSES_PER_CORE, ge=1, le=1 << 40)
    max_message_bits: int = Field(DEFAULT_MAX_MESSAGE_BITS, ge=1, le=fxp.MESSAGE_BITS_MAX)


class CompartmentGroup(_Spec):
    """One LIF Process: compartments ``[start, start + size)`` laid out over ``cores``
    (``(core, count)`` pairs, in order). Arrays ``{name}:{var}`` (size,) for each var of
    COMPARTMENT_VARS hold the initial values. ``strict``: report an overflow of u or v as an
    error instead of wrapping/saturating."""

    name: str = Field(max_length=200)
    start: int = Field(ge=0)
    size: int = Field(ge=0)
    cores: list[tuple[int, int]]
    strict: bool = False


class SynapseGroup(_Spec):
    """One Dense or Sparse Process: ``n_out`` x ``n_in`` quantized mantissas in array
    ``{name}:weights`` (dense: (n_out, n_in); sparse: the stored values, with
    ``{name}:indices`` and ``{name}:indptr`` in CSR layout). ``message_bits`` 0: binary
    input (every non-zero input counts 1), else graded payloads."""

    name: str = Field(max_length=200)
    n_out: int = Field(ge=0)
    n_in: int = Field(ge=0)
    sparse: bool
    weight_exp: int = Field(ge=fxp.WEIGHT_EXP_MIN, le=fxp.WEIGHT_EXP_MAX)
    message_bits: int = Field(ge=0, le=fxp.MESSAGE_BITS_MAX)


class SynapseBlock(_Spec):
    """Rows ``{rows}`` (array key, int64) of synapse group ``group`` stored on ``core``. Their
    activation is added to compartments ``{targets}`` (array key, same length; None: none)
    and, with ``to_host``, returned to the host."""

    core: int = Field(ge=0)
    group: str = Field(max_length=200)
    rows: str = Field(max_length=300)
    targets: str | None = Field(None, max_length=300)
    to_host: bool = False


class Route(_Spec):
    """Spikes of compartments ``source + {sources}`` go to input axons ``{axons}`` of
    synapse group ``group`` in the same step (array keys, int64; None: all, in order)."""

    source: int = Field(ge=0)
    size: int = Field(ge=0)
    group: str = Field(max_length=200)
    sources: str | None = Field(None, max_length=300)
    axons: str | None = Field(None, max_length=300)


class HostInput(_Spec):
    """Data the host injects each step: ``current`` into every compartment of a
    compartment group, or ``axons`` into every input of a synapse group (int32)."""

    group: str = Field(max_length=200)
    kind: Literal["current", "axons"]


class HostOutput(_Spec):
    """Data the host reads each step: ``spikes`` (bool) of a compartment group or the
    ``activation`` (int32) of a synapse group (blocks with ``to_host``)."""

    group: str = Field(max_length=200)
    kind: Literal["spikes", "activation"]


class Readout(_Spec):
    """A compartment variable returned after every step (a Monitor probe)."""

    group: str = Field(max_length=200)
    var: Literal[COMPARTMENT_VARS]


class ChipConfigSpec(_Spec):
    compartments: list[CompartmentGroup] = []
    synapses: list[SynapseGroup] = []
    blocks: list[SynapseBlock] = []
    routes: list[Route] = []
    host_inputs: list[HostInput] = []
    host_outputs: list[HostOutput] = []
    readouts: list[Readout] = []


@dataclass
class ChipConfig:
    """A loadable configuration: the structure and its named arrays."""

    spec: ChipConfigSpec
    arrays: dict[str, np.ndarray] = field(default_factory=dict)


class ChipError(Exception):
    """Something the chip refused or could not do. ``group`` names the Process (compartment
    or synapse group) at fault, if one is."""

    kind = "chip"

    def __init__(self, message: str, group: str | None = None):
        super().__init__(message)
        self.group = group


class ChipLimitError(ChipError):
    """A configuration that does not fit the chip (or that it cannot represent)."""

    kind = "limit"


class ChipConfigError(ChipError):
    """A configuration that is malformed (arrays missing or of the wrong shape)."""

    kind = "config"


def _array(config: ChipConfig, key: str, shape: tuple | None, group: str,
           kinds: str = "iu") -> np.ndarray:
    array = config.arrays.get(key)
    if array is None:
        raise ChipConfigError(f"configuration array '{key}' is missing", group)
    if array.dtype.kind not in kinds:
        raise ChipConfigError(f"configuration array '{key}' has dtype {array.dtype}", group)
    if shape is not None and array.shape != shape:
        raise ChipConfigError(f"configuration array '{key}' has shape {array.shape}, "
                              f"expected {shape}", group)
    return array


def block_synapses(config: ChipConfig, block: SynapseBlock, group: SynapseGroup) -> int:
    """Synapses a block stores: n_in per row of a dense group, the stored entries of its rows
    for a sparse one."""
    rows = config.arrays[block.rows]
    if not group.sparse:
        return int(rows.size) * group.n_in
    indptr = config.arrays[f"{group.name}:indptr"]
    return int(np.sum(indptr[rows + 1] - indptr[rows]))


def check_config(config: ChipConfig, limits: ChipLimits) -> None:
    """Raise ChipLimitError (naming the Process, the resource and the limit) unless
    ``config`` fits ``limits``, ChipConfigError if it is malformed."""
    spec = config.spec
    names = [g.name for g in spec.compartments] + [g.name for g in spec.synapses]
    if len(set(names)) != len(names):
        raise ChipConfigError(f"group names repeat: {names}")
    compartments = np.zeros(0, np.int64)  # per core, grown on demand
    synapses = np.zeros(0, np.int64)
    owners: dict[int, set[str]] = {}

    def use(core: int, who: str, neurons: int = 0, syn: int = 0) -> None:
        nonlocal compartments, synapses
        if core >= limits.num_cores:
            raise ChipLimitError(
                f"Process '{who}' does not fit on the chip: it is placed on core {core}, but "
                f"the chip has {limits.num_cores} cores (num_cores)", who)
        if core >= compartments.size:
            grow = core + 1 - compartments.size
            compartments = np.concatenate([compartments, np.zeros(grow, np.int64)])
            synapses = np.concatenate([synapses, np.zeros(grow, np.int64)])
        compartments[core] += neurons
        synapses[core] += syn
        owners.setdefault(core, set()).add(who)
        if compartments[core] > limits.neurons_per_core:
            raise ChipLimitError(
                f"Process '{who}': core {core} would hold {compartments[core]} compartments "
                f"(with {sorted(owners[core])}); the chip has {limits.neurons_per_core} "
                f"neurons per core", who)
        if synapses[core] > limits.synapses_per_core:
            raise ChipLimitError(
                f"Process '{who}': core {core} would store {synapses[core]} synapses "
                f"(with {sorted(owners[core])}); the chip has {limits.synapses_per_core} "
                f"synapses per core", who)

    position = 0
    for group in spec.compartments:
        if group.start != position:
            raise ChipConfigError(f"compartments of '{group.name}' start at {group.start}, "
                                  f"expected {position} (groups are laid out in order)",
                                  group.name)
        if sum(count for _, count in group.cores) != group.size:
            raise ChipConfigError(f"the cores of '{group.name}' hold "
                                  f"{sum(c for _, c in group.cores)} compartments, not "
                                  f"{group.size}", group.name)
        for core, count in group.cores:
            use(core, group.name, neurons=count)
        for var in COMPARTMENT_VARS:
            _array(config, f"{group.name}:{var}", (group.size,), group.name)
        position += group.size
    total = position
    groups = {g.name: g for g in spec.synapses}
    for group in spec.synapses:
        if group.message_bits > limits.max_message_bits:
            raise ChipLimitError(
                f"Process '{group.name}': graded spikes of {group.message_bits} bits "
                f"(num_message_bits); the chip carries at most {limits.max_message_bits} "
                f"bits per spike", group.name)
        if group.sparse:
            values = _array(config, f"{group.name}:weights", None, group.name)
            indptr = _array(config, f"{group.name}:indptr", (group.n_out + 1,), group.name)
            indices = _array(config, f"{group.name}:indices", values.shape, group.name)
            if values.ndim != 1 or indptr[0] != 0 or indptr[-1] != values.size or np.any(
                    np.diff(indptr) < 0) or (indices.size and (
                    indices.min() < 0 or indices.max() >= group.n_in)):
                raise ChipConfigError(f"'{group.name}': malformed CSR synapse table",
                                      group.name)
        else:
            _array(config, f"{group.name}:weights", (group.n_out, group.n_in), group.name)
    for block in spec.blocks:
        group = groups.get(block.group)
        if group is None:
            raise ChipConfigError(f"a block names unknown synapse group '{block.group}'")
        rows = _array(config, block.rows, None, group.name)
        if rows.ndim != 1 or (rows.size and (rows.min() < 0 or rows.max() >= group.n_out)):
            raise ChipConfigError(f"'{group.name}': block rows out of range", group.name)
        if block.targets is not None:
            targets = _array(config, block.targets, rows.shape, group.name)
            if targets.size and (targets.min() < 0 or targets.max() >= total):
                raise ChipConfigError(f"'{group.name}': block targets out of range",
                                      group.name)
        use(block.core, group.name, neurons=0 if block.targets else int(rows.size),
            syn=block_synapses(config, block, group))
    for route in spec.routes:
        group = groups.get(route.group)
        if group is None or route.source + route.size > total:
            raise ChipConfigError(f"a route to '{route.group}' is out of range", route.group)
        if (route.sources is None) != (route.axons is None):
            raise ChipConfigError(f"a route to '{route.group}' has sources without axons "
                                  f"or axons without sources", route.group)
        if route.sources is None:
            if route.size != group.n_in:
                raise ChipConfigError(f"a route of {route.size} spikes cannot feed the "
                                      f"{group.n_in} axons of '{group.name}'", group.name)
        else:
            sources = _array(config, route.sources, None, group.name)
            axons = _array(config, route.axons, sources.shape, group.name)
            if sources.size and (sources.min() < 0 or sources.max() >= route.size
                                 or axons.min() < 0 or axons.max() >= group.n_in):
                raise ChipConfigError(f"a route to '{group.name}' is out of range", group.name)
    known = {g.name for g in spec.compartments}
    for item in (*spec.host_inputs, *spec.host_outputs, *spec.readouts):
        wants_compartments = getattr(item, "kind", "current") in ("current", "spikes") \
            or isinstance(item, Readout)
        if item.group not in (known if wants_compartments else groups):
            raise ChipConfigError(f"{type(item).__name__} names unknown group '{item.group}'")

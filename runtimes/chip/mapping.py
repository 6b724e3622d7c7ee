"""The chip compiler: the Processes of a chip partition (plan entries) -> a ChipConfig.

- A LIF becomes a compartment group; it is split over as many cores as it needs, filling a
  core up to ``neurons_per_core`` compartments or until the synapses feeding them would pass
  ``synapses_per_core`` (each compartment brings its fan-in: n_in per Dense row, the stored
  entries of its row for a Sparse). Every LIF starts on a fresh core; cores are used in order.
- A Dense or Sparse becomes a synapse group with weights quantized exactly as the CPU
  fixed-point models do (``fixed_point.quantize_weights``: sign mode, 8-bit clip,
  ``num_weight_bits``); its rows are stored in blocks on the cores of the compartments they
  feed. If the host reads its output (a CPU Process or a Monitor), it also gets blocks on
  cores of its own (one compartment slot per row there).
- Inside the chip a LIF's spikes reach synapses, and synapses reach LIF compartments; any
  other edge between two chip Processes is refused. Edges to and from CPU Processes become
  host inputs and outputs, read and written every step.

Which Processes become what is decided by their model's class, through a registry
(``register_chip_model``): ChipLif is mapped to ``LIF`` compartments, ChipDense and
ChipSparse to ``DENSE`` and ``SPARSE`` synapse tables. Only the exact registered classes are
mapped (a subclass may compute other dynamics), and only Processes whose ports and Vars are
those the kind holds, with types that fit its registers; anything else is refused when the
run compiles (``partition.check_plan``), naming the Process and the reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lava_lite import fixed_point as fxp
from lava_lite.model import REGISTRY, ProcessModel
from lava_lite.plan import ChannelPlan, ProcessPlan
from lava_lite.runtimes.chip.config import (COMPARTMENT_REGISTERS, COMPARTMENT_VARS,
                                            ChipConfig, ChipConfigSpec, ChipLimitError,
                                            ChipLimits, CompartmentGroup, HostInput,
                                            HostOutput, Readout, Route, SynapseBlock,
                                            SynapseGroup, check_config)
from lava_lite.port_transforms import compile_transform
from lava_lite.value_checks import integer_range


@dataclass(frozen=True, eq=False)
class ChipKind:
    """What the chip builds for the Processes of one kind of model, and what it holds of them.

    Parameters
    ----------
    name : str
        The name of the constant it is in this module ("LIF"), for messages.
    description : str
        What the chip builds, for messages ("LIF compartments").
    in_port, out_port : str
        The Process's ports: the chip feeds ``in_port`` and reads ``out_port``; a Process
        with other ports cannot be mapped.
    registers : dict[str, tuple[int, bool]]
        The Vars the chip holds, each with its register, ``(bits, signed)``: every one must
        exist, and a Var the chip does not hold, or declared wider than its register, cannot
        be mapped.
    """

    name: str
    description: str
    in_port: str
    out_port: str
    registers: dict[str, tuple[int, bool]]


#: A LIF population as compartments (``fixed_point.lif_step``, bit for bit).
LIF = ChipKind("LIF", "LIF compartments", "a_in", "s_out", COMPARTMENT_REGISTERS)
#: A Dense Process as a synapse table (weights quantized as ``fixed_point.quantize_weights``).
DENSE = ChipKind("DENSE", "dense synapse tables", "s_in", "a_out", {"weights": (32, True)})
#: A Sparse Process as a synapse table of its stored weights (CSR layout).
SPARSE = ChipKind("SPARSE", "sparse synapse tables", "s_in", "a_out",
                  {"weights": (32, True), "indices": (32, True), "indptr": (64, True)})
SYNAPSES = (DENSE, SPARSE)

# The models the chip runs, by their import path (``module:qualname``, as the plan names a
# model): one exact class each. A subclass is a model of its own until registered.
_CHIP_MODELS: dict[str, ChipKind] = {}


def register_chip_model(model: type[ProcessModel] | str, kind: ChipKind) -> None:
    """Declare that the chip runs ``model`` (this exact class, not its subclasses) as
    ``kind``: its dynamics must be those the chip computes for that kind.

    Parameters
    ----------
    model : type[ProcessModel] or str
        The model class (requiring ``NeuroCore``), or its import path ``"module:qualname"``
        (so that the library's models are registered without importing them).
    kind : ChipKind
        ``LIF``, ``DENSE`` or ``SPARSE``.
    """
    if not isinstance(kind, ChipKind):
        raise TypeError(f"register_chip_model: kind must be a ChipKind (LIF, DENSE or "
                        f"SPARSE), got {kind!r}")
    if isinstance(model, str):
        path = model
    elif isinstance(model, type) and issubclass(model, ProcessModel):
        path = model.import_path()
    else:
        raise TypeError(f"register_chip_model: model must be a ProcessModel class or its "
                        f"import path, got {model!r}")
    _CHIP_MODELS[path] = kind


def unregister_chip_model(model: type[ProcessModel] | str) -> None:
    """Undo ``register_chip_model`` (no error if ``model`` is not registered).

    Parameters
    ----------
    model : type[ProcessModel] or str
        The model class or its import path.
    """
    _CHIP_MODELS.pop(model if isinstance(model, str) else model.import_path(), None)


for _path, _kind in (("lava_lite.proc_lib.lif.models:ChipLif", LIF),
                     ("lava_lite.proc_lib.dense.models:ChipDense", DENSE),
                     ("lava_lite.proc_lib.sparse.models:ChipSparse", SPARSE)):
    register_chip_model(_path, _kind)


@dataclass
class Mapping:
    """A configuration and how the host side talks to it: ``kinds`` (process id ->
    ChipKind), ``inputs`` ((process id, port, external channel ids) per host input),
    ``outputs`` ((process id, port) per host output), ``readouts`` ((process id, var) per
    readout), ``cores`` (Process name -> cores used)."""

    config: ChipConfig
    kinds: dict[int, ChipKind]
    inputs: list[tuple[int, str, list[int]]] = field(default_factory=list)
    outputs: list[tuple[int, str]] = field(default_factory=list)
    readouts: list[tuple[int, str]] = field(default_factory=list)
    cores: dict[str, list[int]] = field(default_factory=dict)

    @property
    def num_cores(self) -> int:
        return len({c for cores in self.cores.values() for c in cores})


def chip_kind(spec: ProcessPlan) -> ChipKind:
    """How the chip holds the Process ``spec``: the kind its model is registered as.

    Parameters
    ----------
    spec : ProcessPlan
        A Process of the plan whose model requires ``NeuroCore``.

    Raises
    ------
    ChipLimitError
        Naming the Process and the reason, if its model is not registered (a subclass of a
        registered model included), or it has ports or Vars the chip cannot build or hold.
    """
    model_name = spec.model.rsplit(":", 1)[-1].rsplit(".", 1)[-1]
    kind = _CHIP_MODELS.get(spec.model)
    if kind is None:
        raise ChipLimitError(f"Process '{spec.name}': the chip has no mapping for model "
                             f"{model_name}{_unregistered_reason(spec.model)}", spec.name)
    where = f"Process '{spec.name}' (model {model_name}, mapped to {kind.description})"
    ports = sorted(p.name for p in spec.ports)
    if ports != sorted((kind.in_port, kind.out_port)):
        raise ChipLimitError(f"{where}: has ports {ports}; the chip's {kind.description} "
                             f"have only '{kind.in_port}' and '{kind.out_port}'", spec.name)
    declared = {v.name: v for v in spec.vars}
    for name in declared:
        if name not in kind.registers:
            raise ChipLimitError(
                f"{where}: the chip cannot hold Var '{name}': its {kind.description} hold "
                f"only {', '.join(kind.registers)}. Run this Process on the CPU "
                f"(exception_proc_model_map), or give the chip a model without it",
                spec.name)
    for name, (bits, signed) in kind.registers.items():
        var = declared.get(name)
        if var is None:
            raise ChipLimitError(f"{where}: has no Var '{name}', which the chip's "
                                 f"{kind.description} need", spec.name)
        if not _fits(np.dtype(var.dtype), var.precision, bits, signed):
            held = f"{bits}-bit {'signed' if signed else 'unsigned'} integer"
            declared_as = f"{np.dtype(var.dtype).name}" + (
                f" of {var.precision} bits" if var.precision else "")
            raise ChipLimitError(f"{where}: Var '{name}' is declared {declared_as}; the chip "
                                 f"holds it as a {held}", spec.name)
    return kind


def _unregistered_reason(path: str) -> str:
    """Why a model is not mapped, and what to do about it."""
    model = REGISTRY.resolve(path)
    mapped = {REGISTRY.resolve(p): kind for p, kind in _CHIP_MODELS.items()}
    base = next((m for m in model.__mro__[1:] if m in mapped), None)
    registry = (f"the chip maps only the exact classes registered with "
                f"lava_lite.runtimes.chip.mapping.register_chip_model "
                f"({', '.join(m.__name__ for m in mapped)})")
    if base is None:
        return (f": {registry}. Register it if the chip computes its dynamics, or run the "
                f"Process on the CPU (exception_proc_model_map to a CPU model)")
    return (f": it subclasses {base.__name__}, but {registry}, since a subclass may compute "
            f"other dynamics. If the chip's {mapped[base].description} compute its dynamics, "
            f"register it (register_chip_model({model.__name__}, {mapped[base].name})); "
            f"else run the Process on the CPU (exception_proc_model_map to a CPU model)")


def _fits(dtype: np.dtype, precision: int | None, bits: int, signed: bool) -> bool:
    """True if every value of an integer type (``precision`` bits of ``dtype``) fits a
    ``bits``-wide register."""
    if dtype.kind not in "iu":
        return False
    _, low, high = integer_range(dtype, precision)
    reg_low, reg_high = fxp.bit_range(bits, signed)
    return reg_low <= low and high <= reg_high


def _vars(spec: ProcessPlan) -> dict[str, np.ndarray]:
    return {v.name: v.init for v in spec.vars}


def _quantized(spec: ProcessPlan, weights: np.ndarray) -> np.ndarray:
    """What the CPU fixed-point Dense/Sparse models compute from their weights."""
    return fxp.quantize_weights(weights, spec.params["num_weight_bits"]).astype(np.int32)


def _gather(channel: ChannelPlan, src_size: int, dst_size: int, where: str):
    """(destination positions, source indices) that ``channel`` connects, after its port
    transforms; (None, None) when it connects every position to the same one."""
    if not channel.transform:
        return None, None
    index = np.arange(1, src_size + 1, dtype=np.int64).reshape(channel.shape)
    out = np.asarray(compile_transform(channel.transform)(index)).reshape(-1)
    if out.size != dst_size:
        raise ChipLimitError(f"{where}: its port transform gives {out.size} values for "
                             f"{dst_size} inputs")
    positions = np.flatnonzero(out)
    sources = out[positions] - 1
    if positions.size == dst_size and np.array_equal(sources, np.arange(dst_size)):
        return None, None
    return positions, sources


def _pack(costs: np.ndarray, limits: ChipLimits, name: str, what: str) -> list[int]:
    """Split items (compartments or rows) with the given synapse costs into consecutive
    cores: counts per core."""
    too_big = np.flatnonzero(costs > limits.synapses_per_core)
    if too_big.size:
        k = int(too_big[0])
        raise ChipLimitError(
            f"Process '{name}': {what} {k} alone needs {int(costs[k])} synapses; the chip "
            f"has {limits.synapses_per_core} synapses per core", name)
    total = np.cumsum(costs)
    counts, start, n = [], 0, costs.size
    while start < n:
        base = total[start - 1] if start else 0
        stop = int(np.searchsorted(total, base + limits.synapses_per_core, side="right"))
        stop = min(stop, start + limits.neurons_per_core, n)
        counts.append(stop - start)
        start = stop
    return counts


def map_partition(members: list[ProcessPlan], channels, limits: ChipLimits) -> Mapping:
    """The configuration of the chip for ``members`` (the chip's Processes of a plan) and
    ``channels`` (all channels of the plan). Raises ChipLimitError naming the Process, the
    resource and the limit if it does not fit or cannot be represented."""
    members = sorted(members, key=lambda s: s.id)
    by_id = {s.id: s for s in members}
    roles = {s.id: chip_kind(s) for s in members}
    name = {s.id: s.name for s in members}
    size, row_cost = {}, {}
    for spec in members:
        values = _vars(spec)
        if roles[spec.id] == LIF:
            size[spec.id] = int(values["u"].size)
        elif roles[spec.id] == DENSE:
            n_out, n_in = values["weights"].shape
            size[spec.id] = n_out
            row_cost[spec.id] = np.full(n_out, n_in, np.int64)
        else:
            size[spec.id] = spec.params["shape"][0]
            row_cost[spec.id] = np.diff(values["indptr"]).astype(np.int64)

    routes, targets = [], []  # (LIF, synapse group, channel), (synapse group, LIF, channel)
    for c in channels:
        if c.src not in by_id or c.dst not in by_id:
            continue
        src_role, dst_role = roles[c.src], roles[c.dst]
        if src_role == LIF and dst_role in SYNAPSES:
            routes.append((c.src, c.dst, c))
        elif src_role in SYNAPSES and dst_role == LIF:
            targets.append((c.src, c.dst, c))
        else:
            raise ChipLimitError(
                f"Process '{name[c.dst]}': on the chip, {name[c.src]}.{c.src_port} -> "
                f"{name[c.dst]}.{c.dst_port} cannot be built: a LIF's spikes reach other "
                f"neurons only through synapses (Dense, Sparse), and synapses feed only LIF "
                f"compartments. Run one of the two on the CPU (exception_proc_model_map)",
                name[c.dst])

    # Fan-in of each compartment: what its core must store for it.
    fan_in = {pid: np.zeros(size[pid], np.int64) for pid in members_of(roles, LIF)}
    gathers = {}
    for group, lif, c in targets:
        where = f"Process '{name[lif]}' (input from '{name[group]}')"
        positions, sources = gathers[c.id] = _gather(c, size[group], size[lif], where)
        if positions is None:
            fan_in[lif] += row_cost[group]
        else:
            fan_in[lif][positions] += row_cost[group][sources]

    # Cores, in order: every LIF, then the host-read rows of synapse groups.
    parts = {"compartments": [], "synapses": [], "blocks": [], "routes": [],
            "host_inputs": [], "host_outputs": [], "readouts": []}
    arrays: dict[str, np.ndarray] = {}
    mapping = Mapping(config=None, kinds=roles)
    next_core, start = 0, {}
    slices: dict[int, list[tuple[int, int, int]]] = {}  # LIF -> (core, first, stop) local
    position = 0
    for pid in members_of(roles, LIF):
        values = _vars(by_id[pid])
        counts = _pack(fan_in[pid], limits, name[pid], "neuron")
        cores = list(range(next_core, next_core + len(counts)))
        next_core += len(counts)
        bounds = np.concatenate([[0], np.cumsum(counts)]).astype(int)
        slices[pid] = [(core, int(bounds[k]), int(bounds[k + 1]))
                       for k, core in enumerate(cores)]
        start[pid] = position
        parts["compartments"].append(CompartmentGroup(
            name=name[pid], start=position, size=size[pid],
            cores=[(core, count) for core, count in zip(cores, counts)],
            strict=bool(by_id[pid].params.get("strict_overflow", False))))
        for var in COMPARTMENT_VARS:
            arrays[f"{name[pid]}:{var}"] = np.ascontiguousarray(
                np.broadcast_to(values[var].reshape(-1), (size[pid],)), np.int32)
        mapping.cores[name[pid]] = cores
        position += size[pid]

    host_read = set()
    for spec in members:
        for port in spec.ports:
            if port.direction == "out" and (_external(spec.id, port.name, channels, by_id)
                                            or any(p.target == port.name
                                                   for p in spec.probes)):
                host_read.add((spec.id, port.name))

    for pid in members_of(roles, *SYNAPSES):
        values, params = _vars(by_id[pid]), by_id[pid].params
        n_out = size[pid]
        if roles[pid] == DENSE:
            n_in = values["weights"].shape[1]
            arrays[f"{name[pid]}:weights"] = _quantized(by_id[pid], values["weights"])
        else:
            n_in = params["shape"][1]
            arrays[f"{name[pid]}:weights"] = _quantized(by_id[pid], values["weights"])
            arrays[f"{name[pid]}:indices"] = np.asarray(values["indices"], np.int32)
            arrays[f"{name[pid]}:indptr"] = np.asarray(values["indptr"], np.int64)
        parts["synapses"].append(SynapseGroup(
            name=name[pid], n_out=n_out, n_in=n_in, sparse=roles[pid] == SPARSE,
            weight_exp=params["weight_exp"], message_bits=params["num_message_bits"]))
        mapping.cores[name[pid]] = []

    def block(core, group, rows, target_ids, to_host):
        k = len(parts["blocks"])
        arrays[f"block{k}:rows"] = np.asarray(rows, np.int64)
        if target_ids is not None:
            arrays[f"block{k}:targets"] = np.asarray(target_ids, np.int64)
        parts["blocks"].append(SynapseBlock(
            core=core, group=name[group], rows=f"block{k}:rows",
            targets=None if target_ids is None else f"block{k}:targets", to_host=to_host))
        if core not in mapping.cores[name[group]]:
            mapping.cores[name[group]].append(core)

    for group, lif, c in targets:
        positions, sources = gathers[c.id]
        for core, first, stop in slices[lif]:
            if positions is None:
                rows = np.arange(first, stop)
                local = rows
            else:
                keep = (positions >= first) & (positions < stop)
                rows, local = sources[keep], positions[keep]
            if rows.size:
                block(core, group, rows, start[lif] + local, False)
    for pid in members_of(roles, *SYNAPSES):
        if (pid, "a_out") in host_read:
            counts = _pack(row_cost[pid], limits, name[pid], "row")
            first = 0
            for count in counts:
                block(next_core, pid, np.arange(first, first + count), None, True)
                first += count
                next_core += 1

    if next_core > limits.num_cores:
        used = ", ".join(f"'{n}': {len(c)}" for n, c in mapping.cores.items() if c)
        culprit = next(n for n, c in mapping.cores.items() if c and max(c) >= limits.num_cores)
        raise ChipLimitError(
            f"Process '{culprit}' does not fit on the chip: the network needs {next_core} "
            f"cores ({used}) at {limits.neurons_per_core} neurons and "
            f"{limits.synapses_per_core} synapses per core, but the chip has "
            f"{limits.num_cores} cores (num_cores)", culprit)

    for lif, group, c in routes:
        where = f"Process '{name[group]}' (input from '{name[lif]}')"
        positions, sources = _gather(c, size[lif], _n_in(parts, name[group]), where)
        k = len(parts["routes"])
        if positions is not None:
            arrays[f"route{k}:sources"] = sources
            arrays[f"route{k}:axons"] = positions
        parts["routes"].append(Route(
            source=start[lif], size=size[lif], group=name[group],
            sources=None if positions is None else f"route{k}:sources",
            axons=None if positions is None else f"route{k}:axons"))

    for spec in members:
        role = roles[spec.id]
        in_port, out_port = role.in_port, role.out_port
        external = [c.id for c in channels if c.dst == spec.id and c.dst_port == in_port
                    and c.src not in by_id]
        if external:
            parts["host_inputs"].append(HostInput(group=spec.name,
                                                 kind="current" if role == LIF else "axons"))
            mapping.inputs.append((spec.id, in_port, external))
        if (spec.id, out_port) in host_read:
            parts["host_outputs"].append(HostOutput(
                group=spec.name, kind="spikes" if role == LIF else "activation"))
            mapping.outputs.append((spec.id, out_port))
        if role == LIF:
            for probe in spec.probes:
                if probe.kind == "var" and probe.target in COMPARTMENT_VARS:
                    parts["readouts"].append(Readout(group=spec.name, var=probe.target))
                    mapping.readouts.append((spec.id, probe.target))

    mapping.config = ChipConfig(ChipConfigSpec(**parts), arrays)
    check_config(mapping.config, limits)
    return mapping


def members_of(roles: dict[int, ChipKind], *wanted: ChipKind) -> list[int]:
    return [pid for pid in sorted(roles) if roles[pid] in wanted]


def _n_in(parts: dict, group: str) -> int:
    return next(g.n_in for g in parts["synapses"] if g.name == group)


def _external(pid: int, port: str, channels, members: dict) -> bool:
    return any(c.src == pid and c.src_port == port and c.dst not in members for c in channels)

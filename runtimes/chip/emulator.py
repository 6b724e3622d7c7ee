"""The emulated neuromorphic chip: neurocores in an OS process of their own, served over
ZeroMQ. Run it by hand to share one chip between runs or machines::

    lava-lite-chip --address tcp://127.0.0.1:5555 --neurons-per-core 1024
    python -m lava_lite.runtimes.chip.emulator --address ipc:///tmp/mychip/chip
    lava-lite-chip --address tcp://0.0.0.0:5555 --keys ~/.lava_lite/chip-keys

and give the address to the runtime: ``RunConfig(target="chip",
chip_options={"address": "tcp://127.0.0.1:5555"})`` (with ``"keys": DIR`` for a chip started
with ``--keys``). Without an address the runtime starts one itself (in a private directory,
ended with the run). See ``config.py`` for the model of the chip and ``protocol.py`` for its
messages.

Arithmetic: bit-accurate Loihi CUBA LIF compartments and 8-bit synapse tables, computed with
``lava_lite.fixed_point`` (the functions of the CPU fixed-point models), vectorised over all
compartments of the chip (one update per step) and over the rows of each synapse block (one
product per block and step).

Each step: (1) every compartment updates with the activation its synapses delivered last
step plus the current the host injects now, and fires; (2) routes carry the spikes (and the
host's axon input) to the synapse groups, whose blocks compute activations for the next step
(or for the host). So a LIF sees a Dense's output one step after the Dense received its
input, exactly as on the CPU.

Security: ipc:// addresses should live in a directory only you can enter (the runtime makes
one). A tcp:// address other than loopback needs ``--keys DIR``: the chip is then a CurveZMQ
server (traffic encrypted) admitting only the clients whose certificates are in DIR (see
``keys.py``); a new DIR gets the chip's and a client's key pairs, and the start-up message
says which two files the client needs. Loopback tcp:// without keys admits any local user.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
import traceback
from dataclasses import dataclass

import numpy as np

from lava_lite import fixed_point as fxp
from lava_lite.runtimes.orphans import die_with_parent
from lava_lite.runtimes.chip.config import (COMPARTMENT_VARS, ChipConfig, ChipConfigSpec,
                                            ChipError, ChipLimits, check_config)
from lava_lite.runtimes.chip.keys import ChipKeys, chip_keys, is_loopback, make_keys
from lava_lite.runtimes.network import SocketPathError, check_ipc_path

POLL_MS = 250  # how often an idle chip checks that its parent is still there


class ChipStateError(ChipError):
    """A request the chip's current state cannot serve (nothing loaded, unknown group)."""

    kind = "state"


class ChipOverflowError(ChipError):
    """A strict compartment group's u would wrap or v saturate (state left unchanged)."""

    kind = "overflow"

    def __init__(self, message: str, group: str, variable: str, indices):
        super().__init__(message, group)
        self.variable = variable
        self.indices = [int(i) for i in indices]


@dataclass
class _Block:
    core: int
    group: str
    rows: np.ndarray
    targets: np.ndarray | None
    to_host: bool
    matrix: object = None  # the rows' quantized weights: int64 ndarray or CSR


@dataclass
class _Synapses:
    name: str
    n_out: int
    n_in: int
    sparse: bool
    weight_exp: int
    graded: bool
    table: object  # int64 (n_out, n_in) ndarray, or CSR with int64 data
    blocks: list


class Chip:
    """The neurocores of one chip: load a configuration, run steps, read and write state.

    Pure computation (no sockets): the server below wraps it, tests may drive it directly.
    """

    def __init__(self, limits: ChipLimits | None = None):
        self.limits = limits or ChipLimits()
        self.spec: ChipConfigSpec | None = None
        self.step = 0

    # -- configuration ---------------------------------------------------------------------
    def load(self, config: ChipConfig) -> None:
        check_config(config, self.limits)
        spec, arrays = config.spec, config.arrays
        size = sum(g.size for g in spec.compartments)
        self.state = {var: np.zeros(size, np.int32) for var in COMPARTMENT_VARS}
        self.compartments = {}
        for group in spec.compartments:
            where = slice(group.start, group.start + group.size)
            self.compartments[group.name] = where
            for var in COMPARTMENT_VARS:
                self.state[var][where] = arrays[f"{group.name}:{var}"]
        self.strict = [(g.name, self.compartments[g.name]) for g in spec.compartments
                       if g.strict]
        self.synapses: dict[str, _Synapses] = {}
        for group in spec.synapses:
            self.synapses[group.name] = _Synapses(
                group.name, group.n_out, group.n_in, group.sparse, group.weight_exp,
                group.message_bits > 0, None, [])
            self._set_table(group.name, arrays[f"{group.name}:weights"],
                            arrays.get(f"{group.name}:indices"),
                            arrays.get(f"{group.name}:indptr"))
        for block in sorted(spec.blocks, key=lambda b: b.core):  # core by core
            synapses = self.synapses[block.group]
            synapses.blocks.append(_Block(
                block.core, block.group, np.array(arrays[block.rows], np.int64),
                None if block.targets is None else np.array(arrays[block.targets], np.int64),
                block.to_host))
        for synapses in self.synapses.values():
            self._cut_blocks(synapses)
        self.active = [s for s in self.synapses.values() if s.blocks]
        self.routes = {name: [] for name in self.synapses}
        for route in spec.routes:
            self.routes[route.group].append((
                slice(route.source, route.source + route.size),
                None if route.sources is None else np.array(arrays[route.sources], np.int64),
                None if route.axons is None else np.array(arrays[route.axons], np.int64)))
        self.host_inputs = []
        for item in spec.host_inputs:
            if item.kind == "current":
                where = self.compartments[item.group]
                self.host_inputs.append((item.kind, item.group, where, where.stop - where.start))
            else:
                self.host_inputs.append((item.kind, item.group, None,
                                         self.synapses[item.group].n_in))
        self.host_outputs = [(o.kind, o.group) for o in spec.host_outputs]
        self.readouts = [(r.var, self.compartments[r.group]) for r in spec.readouts]
        self.accumulator = np.zeros(size, np.int32)  # activation delivered at the next step
        self.spikes = np.zeros(size, bool)
        self.activations = {}
        self.step = 0
        self.spec = spec

    def unload(self) -> None:
        self.spec = None
        self.step = 0

    def _set_table(self, name: str, weights, indices=None, indptr=None) -> None:
        synapses = self.synapses[name]
        if synapses.sparse:
            from scipy import sparse  # only chips with Sparse groups need scipy

            synapses.table = sparse.csr_matrix(
                (np.array(weights, np.int64), np.array(indices), np.array(indptr)),
                shape=(synapses.n_out, synapses.n_in))
        else:
            synapses.table = np.array(weights, np.int64)
        self._cut_blocks(synapses)

    @staticmethod
    def _cut_blocks(synapses: _Synapses) -> None:
        """Give each block its rows of the group's table (after a load or a write)."""
        for block in synapses.blocks:
            block.matrix = synapses.table[block.rows]

    def _require_loaded(self) -> None:
        if self.spec is None:
            raise ChipStateError("no configuration is loaded")

    # -- running ---------------------------------------------------------------------------
    def run(self, inputs: list[np.ndarray], num_steps: int = 1):
        """``inputs`` (one array per host input, in configuration order) enter the first
        step; the later steps get none. Returns the host outputs and readouts of the last
        step."""
        self._require_loaded()
        if len(inputs) != len(self.host_inputs):
            raise ChipStateError(f"{len(inputs)} host inputs given, the configuration has "
                                 f"{len(self.host_inputs)}")
        checked = []
        for (kind, group, _, size), data in zip(self.host_inputs, inputs):
            data = np.asarray(data).reshape(-1)
            if data.size != size:
                raise ChipStateError(f"host input for '{group}' ({kind}) has {data.size} "
                                     f"values, expected {size}", group)
            checked.append(data.astype(np.int32, copy=False))
        for k in range(num_steps):
            self._step(checked if k == 0 else None)
        outputs = []
        for kind, group in self.host_outputs:
            if kind == "spikes":
                outputs.append(self.spikes[self.compartments[group]])
            else:
                outputs.append(self.activations[group])
        readouts = [self.state[var][where] for var, where in self.readouts]
        return outputs, readouts

    def _step(self, inputs: list[np.ndarray] | None) -> None:
        state = self.state
        a_in = self.accumulator
        axon_input = {}
        if inputs is not None:
            for (kind, group, where, _), data in zip(self.host_inputs, inputs):
                if kind == "current":
                    if a_in is self.accumulator:
                        a_in = a_in.copy()
                    a_in[where] += data  # int32, wrapping like the CPU's fan-in sum
                else:
                    axon_input[group] = data
        for name, where in self.strict:
            try:
                fxp.lif_subthreshold(state["u"][where], state["v"][where], a_in[where],
                                     state["du"][where], state["dv"][where],
                                     state["bias_mant"][where], state["bias_exp"][where],
                                     strict=True)
            except fxp.FixedPointOverflowError as exc:
                raise ChipOverflowError(str(exc), name, exc.variable, exc.indices) from None
        # (1) every compartment of the chip at once
        u, v, spikes = fxp.lif_step(state["u"], state["v"], a_in, state["du"], state["dv"],
                                    state["vth"], state["bias_mant"], state["bias_exp"])
        state["u"], state["v"] = u, v
        self.spikes = spikes
        # (2) spikes -> axons -> synapse blocks -> accumulators of the next step
        accumulator = np.zeros_like(a_in)
        self.activations = {}
        for synapses in self.active:
            axons = np.zeros(synapses.n_in, np.int32)
            for where, sources, targets in self.routes[synapses.name]:
                fired = spikes[where]
                if sources is None:
                    axons += fired
                else:
                    axons[targets] += fired[sources]
            if synapses.name in axon_input:
                axons += axon_input[synapses.name]
            host = None
            for block in synapses.blocks:
                if synapses.sparse:
                    out = fxp.sparse_step(block.matrix, axons, synapses.weight_exp,
                                          synapses.graded)
                else:
                    out = fxp.dense_step(block.matrix, axons, synapses.weight_exp,
                                         synapses.graded)
                if block.targets is not None:
                    accumulator[block.targets] += out
                if block.to_host:
                    if host is None:
                        host = np.zeros(synapses.n_out, np.int32)
                    host[block.rows] = out
            if host is not None:
                self.activations[synapses.name] = host
        self.accumulator = accumulator
        self.step += 1

    # -- state -----------------------------------------------------------------------------
    def read(self, group: str, var: str) -> np.ndarray:
        self._require_loaded()
        if group in self.compartments and var in COMPARTMENT_VARS:
            return self.state[var][self.compartments[group]].copy()
        if group in self.synapses and var == "weights":
            table = self.synapses[group].table
            return table.data.copy() if self.synapses[group].sparse else table.copy()
        raise ChipStateError(f"no state '{var}' in group '{group}'", group)

    def write(self, group: str, var: str, value: np.ndarray) -> None:
        self._require_loaded()
        value = np.asarray(value)
        if group in self.compartments and var in COMPARTMENT_VARS:
            where = self.compartments[group]
            if value.size != where.stop - where.start:
                raise ChipStateError(f"'{group}.{var}': {value.size} values for "
                                     f"{where.stop - where.start} compartments", group)
            self.state[var][where] = value.reshape(-1)
        elif group in self.synapses and var == "weights":
            synapses = self.synapses[group]
            if synapses.sparse:
                table = synapses.table
                if value.shape != table.data.shape:
                    raise ChipStateError(f"'{group}.weights': {value.shape} values for a "
                                         f"table of {table.data.shape}", group)
                self._set_table(group, value, table.indices, table.indptr)
            else:
                if value.shape != synapses.table.shape:
                    raise ChipStateError(f"'{group}.weights': shape {value.shape}, the table "
                                         f"is {synapses.table.shape}", group)
                self._set_table(group, value)
        else:
            raise ChipStateError(f"no state '{var}' in group '{group}'", group)


# -- the server ------------------------------------------------------------------------------
def serve(address: str, limits: ChipLimits, parent_pid: int | None = None,
          announce: bool = True, keys: ChipKeys | None = None) -> None:
    """Answer requests on ``address`` until ``shutdown`` (or until ``parent_pid`` is gone).
    With ``keys``: as a CurveZMQ server admitting the clients certified in their directory."""
    import zmq
    from zmq.auth.thread import ThreadAuthenticator

    from lava_lite.runtimes.chip import protocol
    from lava_lite.runtimes.chip.config import ChipConfig
    from lava_lite.runtimes.wire import WireError

    chip = Chip(limits)
    owner = None  # identity of the client whose configuration is loaded
    context = zmq.Context()
    authenticator = None
    socket = context.socket(zmq.ROUTER)
    socket.setsockopt(zmq.LINGER, 1000)
    if keys is not None:
        # The ZAP handler must run before the first client connects: without one, a Curve
        # server admits any client key.
        authenticator = ThreadAuthenticator(context)
        authenticator.start()
        # (an absolute path: pyzmq reads a location of "*" as "admit any key")
        authenticator.configure_curve(domain="*", location=os.path.abspath(keys.directory))
        socket.curve_server = True
        socket.curve_secretkey = keys.secret
        socket.curve_publickey = keys.public
    socket.bind(address)
    if announce:
        admits = "any client" if keys is None else f"clients certified in {keys.directory}"
        print(f"lava-lite-chip: {limits.num_cores} cores x {limits.neurons_per_core} neurons, "
              f"{limits.synapses_per_core} synapses per core; listening on {address}, "
              f"admitting {admits} (pid {os.getpid()})", file=sys.stderr, flush=True)
    try:
        while True:
            if not socket.poll(POLL_MS):
                if parent_pid is not None and os.getppid() != parent_pid:
                    return  # whoever started us is gone
                continue
            identity, *frames = socket.recv_multipart()
            seq, done = 0, False
            try:
                message = protocol.decode(frames, protocol.REQUESTS)
                seq = message.seq
                if message.op not in ("hello", "shutdown", "load") and owner not in (
                        None, identity):
                    raise ChipStateError("the chip was loaded by another client since")
                body, arrays = _handle(chip, message, protocol, ChipConfig)
                if message.op == "load":
                    owner = identity
                elif message.op == "unload" and owner == identity:
                    owner = None
                reply = protocol.encode("ok", seq, body, arrays)
                done = message.op == "shutdown"
            except WireError as exc:
                reply = protocol.encode("error", seq, {"kind": "protocol", "message": str(exc)})
            except ChipError as exc:
                reply = protocol.encode("error", seq, {
                    "kind": exc.kind, "message": str(exc), "group": exc.group,
                    "variable": getattr(exc, "variable", None),
                    "indices": getattr(exc, "indices", [])[:100]})
            except Exception:
                reply = protocol.encode("error", seq, {"kind": "internal",
                                                       "message": traceback.format_exc()})
            socket.send_multipart([identity, *reply], copy=False)
            if done:
                return
    finally:
        socket.close()
        if authenticator is not None:
            authenticator.stop()
        context.term()


def _hello(chip: Chip, message, protocol, config_cls) -> tuple[dict, dict]:
    return {"pid": os.getpid(), "limits": chip.limits.model_dump(), "step": chip.step}, {}


def _load(chip: Chip, message, protocol, config_cls) -> tuple[dict, dict]:
    spec = protocol.parse(ChipConfigSpec, message.body)
    chip.load(config_cls(spec, dict(message.arrays)))
    return {}, {}


def _unload(chip: Chip, message, protocol, config_cls) -> tuple[dict, dict]:
    chip.unload()
    return {}, {}


def _run(chip: Chip, message, protocol, config_cls) -> tuple[dict, dict]:
    run = protocol.parse(protocol.RunBody, message.body)
    inputs = [message.arrays.get(f"in{k}") for k in range(len(message.arrays))]
    if any(a is None for a in inputs):
        raise ChipStateError("host inputs must be named in0, in1, ...")
    outputs, readouts = chip.run(inputs, run.num_steps)
    arrays = {f"out{k}": a for k, a in enumerate(outputs)}
    arrays.update({f"readout{k}": a for k, a in enumerate(readouts)})
    return {"step": chip.step}, arrays


def _read(chip: Chip, message, protocol, config_cls) -> tuple[dict, dict]:
    state = protocol.parse(protocol.StateBody, message.body)
    return {}, {"value": chip.read(state.group, state.var)}


def _write(chip: Chip, message, protocol, config_cls) -> tuple[dict, dict]:
    state = protocol.parse(protocol.StateBody, message.body)
    value = message.arrays.get("value")
    if value is None:
        raise ChipStateError("write needs an array named 'value'")
    chip.write(state.group, state.var, value)
    return {}, {}


# Each request of the chip protocol (``protocol.REQUESTS``) and what serves it: (reply body,
# reply arrays) from (chip, message, protocol module, ChipConfig class).
_HANDLERS = {"hello": _hello, "shutdown": _hello, "load": _load, "unload": _unload,
             "run": _run, "read": _read, "write": _write}


def _handle(chip: Chip, message, protocol, config_cls) -> tuple[dict, dict]:
    return _HANDLERS[message.op](chip, message, protocol, config_cls)


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to kill this process when its parent dies; exit if it already has."""
    die_with_parent()
    if os.getppid() != parent_pid:
        sys.exit(0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="lava-lite-chip",
        description="An emulated neuromorphic chip (bit-accurate Loihi-style LIF neurocores) "
                    "served over ZeroMQ for lava_lite's RunConfig(target='chip').")
    parser.add_argument("--address", required=True,
                        help="where to listen: ipc:///path/to/socket or tcp://host:port")
    parser.add_argument("--num-cores", type=int, default=ChipLimits().num_cores,
                        help="neurocores on the chip (default: %(default)s)")
    parser.add_argument("--neurons-per-core", type=int,
                        default=ChipLimits().neurons_per_core,
                        help="compartments per core (default: %(default)s)")
    parser.add_argument("--synapses-per-core", type=int,
                        default=ChipLimits().synapses_per_core,
                        help="synapses per core (default: %(default)s)")
    parser.add_argument("--keys", metavar="DIR", default=None,
                        help="CurveZMQ key directory (made if it has no chip key): the chip's "
                             "key pair and the certificates (*.key) of the clients it admits; "
                             "needed for a tcp address other than loopback")
    parser.add_argument("--parent-pid", type=int, default=None,
                        help="exit when this process (the one that started the chip) is gone")
    parser.add_argument("--quiet", action="store_true", help="no start-up line on stderr")
    args = parser.parse_args(argv)
    if not args.address.startswith(("ipc://", "tcp://")):
        parser.error(f"--address must start with ipc:// or tcp://, got {args.address!r}")
    if args.address.startswith("ipc://"):
        try:
            check_ipc_path(args.address[len("ipc://"):],
                           "give a shorter ipc:// address, or a tcp:// one")
        except SocketPathError as exc:
            parser.error(f"--address: {exc}")
    if args.keys is None and not is_loopback(args.address):
        parser.error(f"--address {args.address} may be reached from other machines: give "
                     f"--keys DIR (CurveZMQ keys, made in DIR if it has none) or listen on "
                     f"127.0.0.1")
    try:
        limits = ChipLimits(num_cores=args.num_cores, neurons_per_core=args.neurons_per_core,
                            synapses_per_core=args.synapses_per_core)
    except ValueError as exc:
        parser.error(str(exc))
    keys = None
    if args.keys is not None:
        try:
            made = make_keys(args.keys)
            keys = chip_keys(args.keys)
        except (OSError, ValueError) as exc:
            parser.error(f"--keys {args.keys}: {exc}")
        if made:
            print(f"lava-lite-chip: made CurveZMQ keys in {args.keys}; copy "
                  f"{' and '.join(made)} to a directory on the machine running lava_lite and "
                  f"give that directory as chip_options['keys']", file=sys.stderr, flush=True)
    if args.parent_pid is not None:
        _die_with_parent(args.parent_pid)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the runtime's to handle
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # close the socket on the way out
    try:
        serve(args.address, limits, args.parent_pid, announce=not args.quiet, keys=keys)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

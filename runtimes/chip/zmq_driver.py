"""The driver of the emulated chip: requests over ZeroMQ (a DEALER talking to the chip's
ROUTER) in the chip protocol (``protocol.py``), and, when no address is given, the emulator
itself, started as a child OS process listening in a private directory. A chip started by
hand with ``--keys`` is reached as a CurveZMQ client with the keys of ``keys.py``.

Liveness: the driver's socket sends ZeroMQ heartbeats (a PING every HEARTBEAT_IVL_MS, which
the chip's I/O thread answers however busy the chip is) and drops the connection when no
answer comes for HEARTBEAT_TIMEOUT_MS; a socket monitor sees that drop, or the chip closing
the connection (it died). From then on every request, and ``check_alive()``, raises
ChipDiedError naming the chip's address, within about a second of the chip dying or
freezing (SIGSTOP), instead of after the request's timeout. For an emulator the driver
started, its process is also watched, so its exit is reported with its signal or exit code.
(No HEARTBEAT_TTL: it would make the chip drop a client that is merely suspended, such as a
user's process stopped by Ctrl-Z.)
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref

import numpy as np
import zmq
from zmq.utils.monitor import recv_monitor_message

from lava_lite.runtimes.chip import protocol
from lava_lite.runtimes.chip.config import (ChipConfig, ChipConfigError, ChipError, ChipLimitError,
                                            ChipLimits)
from lava_lite.runtimes.chip.driver import (ChipDiedError, ChipDriver, ChipInfo, ChipTimeoutError,
                                            StepResult)
from lava_lite.runtimes.chip.keys import client_keys
from lava_lite.runtimes.network import CHIP, check_ipc_path, private_directory
from lava_lite.runtimes.wire import WireError

POLL_MS = 100  # while waiting for an answer: how often to check the chip is alive
HEARTBEAT_IVL_MS = 200  # the driver pings the chip this often ...
HEARTBEAT_TIMEOUT_MS = 1000  # ... and drops the connection after this long without answer
EXIT_WAIT_SECONDS = 0.5  # a lost emulator of ours: how long to wait for its exit status
RECONNECT_MS = 2  # the emulator binds while we connect: retry fast
STOP_GRACE_SECONDS = 2.0
REMOTE_TIMEOUT_SECONDS = 60.0  # default wait for a chip we did not start (alive but stuck)
STARTUP_TIMEOUT_SECONDS = 60.0
HANDSHAKE_FAILED = (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                    | zmq.EVENT_HANDSHAKE_FAILED_AUTH)
MONITORED = HANDSHAKE_FAILED | zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED


class ChipAuthError(ChipError):
    """The CurveZMQ handshake failed: the chip refused this client's keys, or the client
    does not have the chip's (or the chip uses none)."""

    kind = "auth"


class ChipRequestError(ChipError):
    """The chip refused a request (``kind`` as in protocol.ErrorBody)."""

    def __init__(self, message: str, kind: str, group: str | None = None,
                 variable: str | None = None, indices=()):
        super().__init__(message, group)
        self.kind = kind
        self.variable = variable
        self.indices = list(indices)


def _reap(popen: subprocess.Popen, directory: str) -> None:
    """End an emulator we started and remove its directory (also run at interpreter exit).
    SIGCONT after SIGTERM: a frozen emulator exits at once too."""
    if popen.poll() is None:
        popen.terminate()
        try:
            os.kill(popen.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
        try:
            popen.wait(STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()
    shutil.rmtree(directory, ignore_errors=True)


class EmulatorProcess:
    """An emulated chip in a child OS process (``python -m lava_lite.runtimes.chip.emulator``)
    listening on an ipc:// socket in a fresh directory only this user can enter. It exits
    when asked, when this process exits (PR_SET_PDEATHSIG) and when it sees its parent gone.
    (Linux delivers the death signal when the *thread* that started the emulator ends: the
    runtimes start it from the thread that starts the run, normally the main thread.)"""

    def __init__(self, limits: ChipLimits):
        self.directory = private_directory(CHIP)  # mode 0700, in this user's private parent
        self.address = f"ipc://{self.directory}/chip"
        command = [sys.executable, "-m", "lava_lite.runtimes.chip.emulator",
                   "--address", self.address, "--parent-pid", str(os.getpid()), "--quiet",
                   "--num-cores", str(limits.num_cores),
                   "--neurons-per-core", str(limits.neurons_per_core),
                   "--synapses-per-core", str(limits.synapses_per_core)]
        try:
            check_ipc_path(self.address[len("ipc://"):],
                           f"set TMPDIR to a directory with a shorter path than "
                           f"{tempfile.gettempdir()}, or start a chip by hand on a tcp:// "
                           f"address and give it as chip_options['address']")
            # cwd: the private directory, so that nothing in the caller's directory shadows
            # the installed package on the child's sys.path.
            self.popen = subprocess.Popen(command, cwd=self.directory, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, close_fds=True)
        except BaseException:
            shutil.rmtree(self.directory, ignore_errors=True)
            raise
        self._finalizer = weakref.finalize(self, _reap, self.popen, self.directory)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def exit_description(self, wait: float = 0) -> str | None:
        """None while running (after waiting up to ``wait`` seconds for it to end); how it
        ended otherwise."""
        try:
            code = self.popen.wait(wait) if wait else self.popen.poll()
        except subprocess.TimeoutExpired:
            return None
        if code is None:
            return None
        if code < 0:
            return f"killed by signal {signal.Signals(-code).name}"
        return f"exit code {code}"

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """Give the emulator ``grace`` seconds to exit (after a shutdown request), then
        terminate it (kill it if it does not exit) and remove its directory."""
        try:
            self.popen.wait(grace)
        except subprocess.TimeoutExpired:
            pass
        self._finalizer()


class ZmqChipDriver(ChipDriver):
    """Driver of an emulated chip over ZeroMQ.

    ``address``: a running emulator (``ipc://...`` or ``tcp://...``); None starts one with
    ``limits``. ``keys``: for a chip started with ``--keys``, a directory holding its
    ``chip.key`` and this client's ``client.key_secret``. ``timeout``: seconds to wait for
    any answer (default: unlimited for a chip this driver started, whose process it watches;
    REMOTE_TIMEOUT_SECONDS otherwise). Either way a chip that dies or freezes is reported
    within about a second (see Liveness above). Requests are serialised by a lock, so
    ``close()`` from another thread is safe.
    """

    def __init__(self, address: str | None = None, limits: ChipLimits | None = None,
                 timeout: float | None = None, keys=None):
        self.address = address
        self.limits = limits or ChipLimits()
        self.keys = keys
        self.timeout = timeout if timeout is not None else (
            None if address is None else REMOTE_TIMEOUT_SECONDS)
        self.emulator: EmulatorProcess | None = None
        self.context: zmq.Context | None = None
        self.socket: zmq.Socket | None = None
        self.info: ChipInfo | None = None
        self._seq = 0
        self._pending: list[np.ndarray] = []
        self._result = StepResult(step=0)
        self._lock = threading.Lock()
        self._loaded = False
        self._closed = False
        self._monitor: zmq.Socket | None = None  # handshakes and disconnections of the socket
        self._poller = zmq.Poller()  # the socket and its monitor
        self._connected = False  # a handshake with the chip has succeeded
        self._lost: str | None = None  # why the chip is gone, once it is

    # -- connection ------------------------------------------------------------------------
    def open(self) -> ChipInfo:
        if self.address is None:
            self.emulator = EmulatorProcess(self.limits)
            self.address = self.emulator.address
        elif self.address.startswith("ipc://"):
            check_ipc_path(self.address[len("ipc://"):],
                           "give the chip a shorter ipc:// address, or a tcp:// one")
        self.context = zmq.Context(io_threads=1)
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)
        self.socket.setsockopt(zmq.RECONNECT_IVL_MAX, 100)
        self.socket.setsockopt(zmq.HEARTBEAT_IVL, HEARTBEAT_IVL_MS)
        self.socket.setsockopt(zmq.HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT_MS)
        if self.keys is not None:
            keys = client_keys(self.keys)
            self.socket.curve_serverkey = keys.server_public
            self.socket.curve_publickey = keys.public
            self.socket.curve_secretkey = keys.secret
        self._monitor = self.socket.get_monitor_socket(MONITORED)
        self._poller.register(self.socket, zmq.POLLIN)
        self._poller.register(self._monitor, zmq.POLLIN)
        self.socket.connect(self.address)
        # A chip started by hand may be refused keys: reported at once (the handshake).
        reply = self._request("hello", timeout=STARTUP_TIMEOUT_SECONDS if self.emulator
                              else self.timeout)
        hello = protocol.parse(protocol.HelloReply, reply.body)
        self.info = ChipInfo(limits=hello.limits, pid=hello.pid, step=hello.step)
        return self.info

    @property
    def pid(self) -> int | None:
        return None if self.info is None else self.info.pid

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        got_lock = self._lock.acquire(timeout=STOP_GRACE_SECONDS)
        shutdown_sent = False
        try:
            if got_lock and self.socket is not None and (
                    self.emulator is None or self.emulator.exit_description() is None):
                op = "shutdown" if self.emulator is not None else "unload"
                if self.emulator is not None or self._loaded:
                    try:
                        self._exchange(op, None, None, timeout=1.0)
                        shutdown_sent = True
                    except (ChipError, WireError, zmq.ZMQError):
                        pass  # gone already, or stuck: the emulator is ended below
            if got_lock:  # (else another thread is still in a request: leave its socket be)
                self._close_sockets()
        finally:
            if got_lock:
                self._lock.release()
            if self.emulator is not None:
                self.emulator.stop(STOP_GRACE_SECONDS if shutdown_sent else 0)

    def _close_sockets(self) -> None:
        """The monitor, the socket, then the context (which waits for its sockets)."""
        if self._monitor is not None:
            self.socket.disable_monitor()
            self._monitor.close(linger=0)
        if self.socket is not None:
            self.socket.close(linger=0)
        if self.context is not None:
            self.context.term()

    def check_alive(self) -> None:
        """Raise ChipDiedError if the chip has gone: the emulator this driver started has
        exited, or the connection was lost (the chip closed it, or did not answer heartbeats
        for HEARTBEAT_TIMEOUT_MS). Returns at once; for the idle loop of the process hosting
        the chip, so that a chip lost between runs is reported without waiting for the next
        request. (While another thread is in a request, that request reports it.)"""
        if self._closed or self.socket is None:
            raise ChipDiedError(f"the connection to the chip at {self.address} is closed")
        if not self._lock.acquire(blocking=False):
            return
        try:
            self._check_chip("while idle")
        finally:
            self._lock.release()

    # -- configuration and steps -----------------------------------------------------------
    def load(self, config: ChipConfig) -> None:
        self._request("load", config.spec.model_dump(mode="json"), config.arrays)
        self._loaded = True
        self._result = StepResult(step=0)

    def inject(self, inputs: list[np.ndarray]) -> None:
        self._pending = list(inputs)

    def run(self, num_steps: int = 1) -> None:
        arrays = {f"in{k}": a for k, a in enumerate(self._pending)}
        self._pending = []
        reply = self._request("run", {"num_steps": int(num_steps)}, arrays)
        outputs, readouts = [], []
        while f"out{len(outputs)}" in reply.arrays:
            outputs.append(reply.arrays[f"out{len(outputs)}"])
        while f"readout{len(readouts)}" in reply.arrays:
            readouts.append(reply.arrays[f"readout{len(readouts)}"])
        self._result = StepResult(step=protocol.parse(protocol.RunReply, reply.body).step,
                                  outputs=outputs, readouts=readouts)

    def read_outputs(self) -> StepResult:
        return self._result

    def read_state(self, group: str, var: str) -> np.ndarray:
        reply = self._request("read", {"group": group, "var": var})
        if "value" not in reply.arrays:
            raise ChipConfigError("the chip's answer to read carries no value", group)
        return np.array(reply.arrays["value"])

    def write_state(self, group: str, var: str, value: np.ndarray) -> None:
        self._request("write", {"group": group, "var": var}, {"value": np.asarray(value)})

    # -- messaging -------------------------------------------------------------------------
    def _request(self, op: str, body: dict | None = None,
                 arrays: dict[str, np.ndarray] | None = None, timeout: float | None = None):
        if self._closed or self.socket is None:
            raise ChipDiedError(f"the connection to the chip is closed (request '{op}')")
        with self._lock:
            return self._exchange(op, body, arrays, self.timeout if timeout is None else timeout)

    def _exchange(self, op, body, arrays, timeout):
        self._seq += 1
        seq = self._seq
        # Copied: the driver may live in the user's process, where a zero-copy send would
        # start pyzmq's garbage-collector thread for good (see MultiprocessRuntime._send).
        self.socket.send_multipart(protocol.encode(op, seq, body, arrays))
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:  # (a chip lost before the request: its monitor event wakes the poll)
            if self.socket in dict(self._poller.poll(POLL_MS)):
                try:
                    message = protocol.decode(self.socket.recv_multipart(),
                                              protocol.REPLIES)
                except WireError as exc:
                    raise ChipConfigError(f"malformed answer from the chip: {exc}") from None
                if message.seq != seq:
                    continue  # a late answer to a request that timed out
                if message.op == "error":
                    error = protocol.parse(protocol.ErrorBody, message.body)
                    cls = ChipLimitError if error.kind == "limit" else ChipRequestError
                    if cls is ChipLimitError:
                        raise ChipLimitError(error.message, error.group)
                    raise ChipRequestError(error.message, error.kind, error.group,
                                           error.variable, error.indices)
                return message
            self._check_chip(f"during '{op}'")
            if deadline is not None and time.monotonic() > deadline:
                raise ChipTimeoutError(f"the chip at {self.address} did not answer '{op}' "
                                       f"within {timeout:g} s")

    def _check_chip(self, when: str) -> None:
        """Raise if the chip is gone (ChipDiedError, naming it and ``when`` it was seen) or
        refused this client's keys (ChipAuthError)."""
        self._watch_connection()
        if self.emulator is not None:
            how = self.emulator.exit_description(EXIT_WAIT_SECONDS if self._lost else 0)
            if how is not None:
                raise ChipDiedError(f"the emulated chip (pid {self.emulator.pid}) ended "
                                    f"({how}) {when}")
        if self._lost is not None:
            pid = "" if self.info is None else f" (pid {self.info.pid})"
            raise ChipDiedError(f"the chip at {self.address}{pid} is gone {when}: {self._lost}")

    def _watch_connection(self) -> None:
        """Read the socket monitor's events: a failed handshake raises ChipAuthError; the
        loss of an established connection is remembered in ``_lost`` for good (a chip that
        comes back at the address has lost the state this driver loaded)."""
        while self._monitor.poll(0):
            event = recv_monitor_message(self._monitor)
            kind = event["event"]
            if kind & HANDSHAKE_FAILED and self._lost is None:
                raise ChipAuthError(self._handshake_text(event))
            if kind == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self._connected = True
            elif kind == zmq.EVENT_DISCONNECTED and self._connected and self._lost is None:
                self._lost = (f"the connection was lost (the chip closed it, or did not "
                              f"answer heartbeats for {HEARTBEAT_TIMEOUT_MS / 1000:g} s)")

    def _handshake_text(self, event: dict) -> str:
        """Why the chip at ``address`` and this client could not agree, from a monitor event
        (whose kind is not reliable: a peer that hangs up may show as any failure)."""
        failed = f"the handshake with the chip at {self.address} failed " \
                 f"({zmq.Event(event['event']).name})"
        if self.keys is None:
            return f"{failed}: a chip started with --keys needs chip_options['keys']"
        return (f"{failed}: is chip.key in chip_options['keys'] = {self.keys} this chip's key, "
                f"does the chip's key directory hold the matching client.key, and was the chip "
                f"started with --keys?")

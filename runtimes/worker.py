"""A worker OS process: hosts some Processes, runs their steps, talks ZeroMQ.

Data arrive on one PULL socket per upstream worker (so each peer has its own queue and its
own high-water mark, which bounds how far a fast upstream can run ahead) and leave on one
PUSH socket per downstream worker. Control comes from the coordinator on a DEALER socket and
is polled between steps and while waiting for data, so halt and stop are always heard.
"""
from __future__ import annotations

import gc
import os
import signal
import sys
import time
import traceback

import numpy as np
import zmq
from threadpoolctl import threadpool_limits

from lava_lite.compiler import WORK_PER_EXTRA_WORKER
from lava_lite.errors import ProcessModelError
from lava_lite.plan import Plan, control_wire_id, ref_wire_ids
from lava_lite.runtimes import wire
from lava_lite.runtimes.executor import Executor
from lava_lite.runtimes.network import Network, data_socket_name
from lava_lite.runtimes.orphans import ENDING_SIGNALS, die_with_parent

# Enough queued messages per peer for a few steps of every channel between two workers
# (what the pipeline needs to stay deadlock-free), not so many that memory grows unbounded.
MIN_HIGH_WATER_MARK = 256
PARENT_CHECK_SECONDS = 0.25
RECONNECT_MS = 2
MAX_STEPS_AHEAD = 16 * MIN_HIGH_WATER_MARK
CONTROL_CHECK_SECONDS = 0.002
STARTUP_TIMEOUT_SECONDS = 30.0  # workers: to bind, report and learn the control endpoint
MAX_ENDPOINT_BYTES = 4096
DEVICE_CHECK_SECONDS = 0.5  # while idle: how often devices (the chip) are checked

# Texts travel in one control header: tracebacks and error messages are shortened to this,
# keeping where the error is (a traceback's end, a message's start).
MAX_TEXT_CHARS = 64 * 1024
# Errors that refuse one get/set (bad name, index or value) and leave the run intact; any
# other error of a get/set (a device that failed) is a failure of the Process.
REFUSED = (KeyError, ValueError, TypeError, IndexError)


def _bounded(text: str) -> str:
    """A traceback of at most MAX_TEXT_CHARS: its end, where the error is."""
    if len(text) <= MAX_TEXT_CHARS:
        return text
    return "[... traceback shortened ...]\n" + text[-MAX_TEXT_CHARS:]


def _bounded_message(text: str) -> str:
    """An error message of at most MAX_TEXT_CHARS: its start, which says what failed."""
    if len(text) <= MAX_TEXT_CHARS:
        return text
    return f"{text[:MAX_TEXT_CHARS]}[... {len(text) - MAX_TEXT_CHARS:,} characters more]"


class StopRequested(BaseException):
    """The coordinator asked this worker to end (a BaseException, so that a model's own
    ``except Exception`` cannot swallow it)."""


def _wire_links(plan: Plan) -> list[tuple[int, int, int, np.dtype, tuple, bool]]:
    """(sending Process, receiving Process, wire id, dtype, shape, is a ref request) of every
    kind of message that may travel: data channels and the five ids of each RefPort edge."""
    links = [(c.src, c.dst, c.id, np.dtype(c.dtype), c.shape, False) for c in plan.channels]
    empty = (np.dtype(bool), (0,))
    first_on = {}
    for process in plan.processes:
        first_on.setdefault(process.worker, process.id)
    lock_step = set(plan.lock_step_workers())
    for controller in plan.controllers:  # each controller's per-step word to other workers
        for worker, representative in first_on.items():
            if worker != plan.process(controller).worker and worker in lock_step:
                links.append((controller, representative,
                              control_wire_id(plan, controller, worker), np.dtype(np.int8),
                              (1,), False))
    for ref in plan.ref_channels:
        var = (np.dtype(ref.dtype), ref.shape)
        ids = ref_wire_ids(ref)
        for read, write, end in zip(ids.read, ids.write, ids.end):
            links += [(ref.src, ref.dst, read, *empty, True),
                      (ref.src, ref.dst, write, *var, True),
                      (ref.src, ref.dst, end, *empty, True)]
        links += [(ref.dst, ref.src, ids.reply, *var, False),
                  (ref.dst, ref.src, ids.ack, *empty, False)]
    return links


class ZmqTransport:
    """Carries the messages that cross this worker's boundary, one socket per peer and
    direction. While waiting for anything it keeps serving RefPort requests from peers
    (``on_request``) and hearing the coordinator, so no wait can deadlock on either."""

    def __init__(self, context: zmq.Context, plan: Plan, worker: int, network: Network,
                 control):
        self.control = control
        self.parent_pid = os.getppid()
        self.inbox: dict = {}
        self.on_request = None  # set by the executor when it hosts RefPort targets
        self.executor = None  # set once built; its step bounds which messages are plausible
        worker_of = {p.id: p.worker for p in plan.processes}
        incoming: dict[int, dict] = {}  # peer -> {wire id: (dtype, shape)}
        outgoing: dict[int, list[int]] = {}  # peer -> wire ids
        self.request_ids: set[int] = set()
        for src, dst, wire_id, dtype, shape, is_request in _wire_links(plan):
            if worker_of[dst] == worker and worker_of[src] != worker:
                incoming.setdefault(worker_of[src], {})[wire_id] = (dtype, shape)
                if is_request:
                    self.request_ids.add(wire_id)
            elif worker_of[src] == worker and worker_of[dst] != worker:
                outgoing.setdefault(worker_of[dst], []).append(wire_id)
        self.sockets: list[zmq.Socket] = []
        self.source = {}  # wire id -> (socket, wire ids expected on that socket)
        self.request_sockets = []
        self.bound: dict[int, str] = {}  # sending peer -> endpoint it connects to
        for peer, expected in sorted(incoming.items()):
            sock = self._socket(context, zmq.PULL, len(expected))
            self.bound[peer] = network.bind(sock, data_socket_name(worker, peer))
            for wire_id in expected:
                self.source[wire_id] = (sock, expected)
            if self.request_ids & expected.keys():
                self.request_sockets.append((sock, expected))
        self._context, self._network, self._outgoing = context, network, outgoing
        self.destination = {}
        self._pollers: dict[tuple, zmq.Poller] = {}
        self.bad_messages = 0
        self.counters = [0, 0, 0, 0]  # messages sent, bytes sent, messages received, bytes

    def connect(self, endpoints: dict[int, str]) -> None:
        """Connect to the receiving sockets of downstream peers (known once they bound)."""
        for peer, wire_ids in sorted(self._outgoing.items()):
            sock = self._socket(self._context, zmq.PUSH, len(wire_ids))
            self._network.connect(sock, endpoints[peer])
            for wire_id in wire_ids:
                self.destination[wire_id] = sock

    def _socket(self, context, kind, num_channels: int) -> zmq.Socket:
        sock = context.socket(kind)
        hwm = max(MIN_HIGH_WATER_MARK, 8 * num_channels)
        sock.setsockopt(zmq.SNDHWM if kind == zmq.PUSH else zmq.RCVHWM, hwm)
        sock.setsockopt(zmq.LINGER, 0)
        # Peers bind while we connect: retry fast, not after ZeroMQ's default 100 ms.
        sock.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)
        self.sockets.append(sock)
        return sock

    def send(self, channel: int, step: int, array: np.ndarray) -> float:
        """Send step ``step``'s data on ``channel``; returns the seconds spent waiting for
        a receiver that was behind (run stats count them as waiting, not computing)."""
        sock = self.destination[channel]
        frames = wire.encode_data(channel, step, array)
        self.counters[0] += 1
        self.counters[1] += array.nbytes
        blocked = 0.0
        while True:
            try:
                sock.send_multipart(frames, flags=zmq.NOBLOCK, copy=False)
                return blocked
            except zmq.Again:  # the receiver is behind: wait, but keep hearing control
                start = time.perf_counter()
                self._wait(sock, zmq.POLLOUT)
                blocked += time.perf_counter() - start

    def receive(self, channel: int, step: int) -> np.ndarray:
        sock, expected = self.source[channel]
        key = (channel, step)
        while True:
            if key in self.inbox:  # read while this worker waited for something else
                return self.inbox.pop(key)
            if not self._read_one(sock, expected):
                self._wait(sock, zmq.POLLIN)

    def wait_any(self) -> None:
        """Wait until a message or a control command arrives, and handle it."""
        self._wait(None, zmq.POLLIN)

    def _read_one(self, sock: zmq.Socket, expected: dict) -> bool:
        """Read one message if there is one: a ref request goes to ``on_request``, any
        other message to the inbox. False if the socket had nothing."""
        try:
            frames = sock.recv_multipart(flags=zmq.NOBLOCK)
        except zmq.Again:
            return False
        try:
            wire_id, step, array = wire.decode_data(frames, expected)
        except wire.WireError as exc:
            self.bad_messages += 1
            print(f"lava_lite worker: dropped a malformed data message: {exc}", file=sys.stderr)
            return True
        current = self.executor.step if self.executor is not None else 0
        # (an asynchronous model's ports each keep their own count: only the upper bound holds)
        lowest = 0 if self.executor is None or self.executor.async_model else current
        if not lowest <= step <= current + MAX_STEPS_AHEAD:
            # Nothing legitimate is that old or that far ahead (the high-water marks bound
            # how far a sender runs ahead): refuse it so the inbox cannot grow without bound.
            self.bad_messages += 1
            print(f"lava_lite worker: dropped a data message for step {step} at step "
                  f"{current}", file=sys.stderr)
            return True
        self.counters[2] += 1
        self.counters[3] += array.nbytes
        if wire_id in self.request_ids:
            self.on_request(wire_id, step, array)
        else:
            self.inbox[(wire_id, step)] = array
        return True

    def _wait(self, sock: zmq.Socket | None, event: int) -> None:
        poller = self._pollers.get((sock, event))
        if poller is None:
            poller = self._pollers[(sock, event)] = zmq.Poller()
            if sock is not None:
                poller.register(sock, event)
            poller.register(self.control.socket, zmq.POLLIN)
            for request_socket, _ in self.request_sockets:
                if request_socket is not sock:
                    poller.register(request_socket, zmq.POLLIN)
        ready = dict(poller.poll(PARENT_CHECK_SECONDS * 1000))
        if self.control.socket in ready:
            self.control.handle_while_running()
        for request_socket, expected in self.request_sockets:
            if request_socket in ready and request_socket is not sock:
                while self._read_one(request_socket, expected):
                    pass
        if not ready and os.getppid() != self.parent_pid:
            raise StopRequested("the coordinator's process is gone")

    def close(self) -> None:
        for sock in self.sockets:
            sock.close(linger=0)


class Worker:
    def __init__(self, plan: Plan, worker: int, network: Network, control_endpoint: str,
                 context: zmq.Context, progress: np.ndarray):
        self.plan = plan
        self.progress = progress
        self.worker = worker
        self.parent_pid = os.getppid()
        self.socket = context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.IDENTITY, str(worker).encode())
        self.socket.setsockopt(zmq.LINGER, 2000)
        network.connect(self.socket, control_endpoint)
        self.transport = ZmqTransport(context, plan, worker, network, self)
        self.executor: Executor | None = None
        self.target: int | None = 0
        self.halted = False
        self.failed = False  # a hosted model failed: the coordinator ends the run

    def send(self, message, arrays=()) -> None:
        self.socket.send_multipart(wire.encode_control(message, arrays), copy=False)

    def receive(self):
        """The coordinator's next message; while none comes, watch the coordinator's
        process and the devices of the hosted Processes (a chip that went away is reported
        at once, not at the next request)."""
        while True:
            if self.socket.poll(DEVICE_CHECK_SECONDS * 1000):
                try:
                    return wire.decode_control(self.socket.recv_multipart())
                except wire.WireError as exc:
                    print(f"lava_lite worker {self.worker}: dropped a malformed control "
                          f"message: {exc}", file=sys.stderr)
            elif os.getppid() != self.parent_pid:
                raise StopRequested("the coordinator's process is gone")
            elif self.executor is not None and not self.failed:
                try:
                    self.executor.check_devices()
                except ProcessModelError as exc:
                    self.report(exc)

    def serve(self) -> None:
        self.send(wire.Bound(endpoints={str(p): e for p, e in self.transport.bound.items()}))
        message, _ = self.receive()
        while not isinstance(message, (wire.Connect, wire.Stop)):
            message, _ = self.receive()
        if isinstance(message, wire.Stop):
            return
        self.transport.connect({int(p): e for p, e in message.endpoints.items()})
        try:
            self.executor = Executor(self.plan, [p.id for p in self.plan.on_worker(self.worker)],
                                     self.transport, self.progress)
            self.transport.inbox = self.executor.inbox
            self.transport.executor = self.executor
            self.send(wire.Ready())
        except ProcessModelError as exc:
            self.report(exc)
        while True:
            message, arrays = self.receive()
            if isinstance(message, wire.Stop):
                return
            if self.executor is None:
                continue  # construction failed; only stop is meaningful
            try:
                self.handle_idle(message, arrays)
            except ProcessModelError as exc:
                self.report(exc)
            except StopRequested:
                return

    def handle_idle(self, message, arrays) -> None:
        """Serve one message from the coordinator between runs (see ``_IDLE_HANDLERS``)."""
        handler = _IDLE_HANDLERS.get(type(message))
        if handler is not None:
            handler(self, message, arrays)

    def _run(self, message: wire.Run, arrays) -> None:
        """Run steps until the run's target (or a controller's request); between steps, hear
        the coordinator every few milliseconds (asking ZeroMQ costs ~4 us, more than a small
        step)."""
        executor = self.executor
        if executor.async_model is not None:
            self.run_async(message.until)
            return
        self.target = message.until
        next_check = time.monotonic() + CONTROL_CHECK_SECONDS
        requested, controlled = None, executor.has_controllers
        while self.target is None or executor.step < self.target:
            executor.run_step()
            if controlled:
                requested = executor.run_request()
                if requested:
                    break
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + CONTROL_CHECK_SECONDS
                while self.socket.poll(0):
                    self.handle_while_running(between_steps=True)
        self.send(wire.Done(step=executor.step, requested=requested))

    def _halt(self, message: wire.Halt, arrays) -> None:
        self.send(wire.Halted(step=self.executor.step))

    def _get_var(self, message: wire.GetVar, arrays) -> None:
        hosted = self.executor.by_id[message.process]
        try:
            value = hosted.get_var(message.var)
        except REFUSED as exc:  # unknown names, a value that is no array of numbers
            name = self.plan.process(message.process).name
            self._refuse(f"cannot read {name}.{message.var}: {exc}")
        except Exception:  # a device that failed to answer
            raise hosted.failure("get", self.executor.step) from None
        else:
            self.send(wire.Reply(), (value,))

    def _set_var(self, message: wire.SetVar, arrays) -> None:
        hosted = self.executor.by_id[message.process]
        try:
            hosted.set_var(message.var, arrays[0])
        except REFUSED as exc:
            self._refuse(str(exc))
        except Exception:
            raise hosted.failure("set", self.executor.step) from None
        else:
            self.send(wire.Reply())

    def _stats(self, message: wire.GetStats, arrays) -> None:
        ids, times = self.executor.stats()
        self.send(wire.Reply(ids=ids), (times, np.array(self.transport.counters, np.int64)))

    def _probes(self, message: wire.GetProbes, arrays) -> None:
        self.send_probes()

    def _refuse(self, error: str) -> None:
        self.send(wire.Reply(error=_bounded_message(error)))

    def send_probes(self) -> None:
        """What every probe hosted here recorded (also while a step is under way, so that a
        failed run's data can be read from the workers that wait for the failed one)."""
        data = self.executor.probe_data()
        self.send(wire.Reply(ids=list(data)), tuple(data.values()))

    def run_async(self, until: int | None) -> None:
        """Let the asynchronous model loop until it has reached ``until`` (or is told to end)."""
        executor, hosted = self.executor, self.executor.async_model
        self.target, self.halted = until, False
        hosted.model._control = self
        budget = None if until is None else until - executor.step
        if budget is None or budget > 0:
            hosted.model.num_steps = budget
            try:
                hosted.model.run_async()
            except Exception:
                raise hosted.failure("run_async", executor.step) from None
            if not self.halted and until is not None:  # it did its num_steps steps
                hosted.advance(until)
        if not self.halted:
            self.send(wire.Done(step=executor.step if until is None else until))

    def asked_to_end(self) -> bool:
        """For an asynchronous model: has the coordinator asked to pause or stop?"""
        while not self.halted and self.socket.poll(0):
            self.handle_while_running(between_steps=True)
        return self.halted

    def handle_while_running(self, between_steps: bool = False) -> None:
        try:
            message, _ = wire.decode_control(self.socket.recv_multipart())
        except wire.WireError as exc:
            print(f"lava_lite worker {self.worker}: dropped a malformed control message: "
                  f"{exc}", file=sys.stderr)
            return
        if isinstance(message, wire.Stop):
            raise StopRequested("stop requested")
        if isinstance(message, wire.Halt):
            # Finish the step under way (if any), then wait for the coordinator's next word.
            self.target = self.executor.step + (0 if between_steps else 1)
            self.halted = True
            self.send(wire.Halted(step=self.target))
        elif isinstance(message, wire.Run):
            # After a halt, the coordinator may name a later step before this worker has
            # finished the step it was in: take the new target instead of dropping it.
            self.target = message.until
        elif isinstance(message, wire.GetProbes):
            self.send_probes()
        else:
            self.send(wire.Reply(error=f"'{message.k}' is not possible while running"))

    def report(self, exc: ProcessModelError) -> None:
        self.failed = True
        self.send(wire.Failed(process=exc.process_name, model=exc.model, phase=exc.phase,
                              step=exc.time_step, traceback=_bounded(exc.traceback_text)))

    def close(self) -> None:
        if self.executor is not None:
            self.executor.close()
        self.transport.close()
        self.socket.close()


# What an idle worker does with each message from the coordinator (others are ignored).
_IDLE_HANDLERS = {wire.Run: Worker._run, wire.Halt: Worker._halt, wire.GetVar: Worker._get_var,
                  wire.SetVar: Worker._set_var, wire.GetStats: Worker._stats,
                  wire.GetProbes: Worker._probes}


def blas_threads(plan: Plan, worker: int) -> int:
    """BLAS threads for ``worker``: its share of the cores, or one if its work per step is
    too small to split (below WORK_PER_EXTRA_WORKER, where a second worker would not pay
    either; a threaded 100x100 product is no faster and its timing turns erratic)."""
    work = sum(p.cost for p in plan.processes if p.worker == worker)
    if work < WORK_PER_EXTRA_WORKER:
        return 1
    return max(1, (os.cpu_count() or 1) // plan.num_workers)


def worker_main(plan: Plan, worker: int, network: Network, endpoint_pipe,
                progress: np.ndarray, forked_by_main_thread: bool = True) -> None:
    """Entry point of a worker OS process; ``endpoint_pipe`` brings the coordinator's control
    endpoint once it is bound."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle
    for signum in ENDING_SIGNALS:  # the coordinator's clean-up handler is not for workers
        signal.signal(signum, signal.SIG_DFL)
    die_with_parent(forked_by_main_thread)
    gc.freeze()  # what the fork inherited is never garbage: keep collections cheap
    threadpool_limits(blas_threads(plan, worker))
    with endpoint_pipe:
        if not endpoint_pipe.poll(STARTUP_TIMEOUT_SECONDS):
            return  # the coordinator never got as far as binding: nothing to serve
        try:
            control_endpoint = endpoint_pipe.recv_bytes(MAX_ENDPOINT_BYTES).decode()
        except (EOFError, OSError):
            return  # the coordinator failed before it could tell us
    context = zmq.Context()
    network.start_authenticator(context)
    runner = None
    try:
        runner = Worker(plan, worker, network, control_endpoint, context, progress)
        runner.serve()
    except StopRequested:
        pass
    except BaseException:  # (MemoryError, SystemExit, ... outside any model's code)
        if runner is not None:
            runner.send(wire.Failed(process=f"worker {worker}", model="-",
                                    phase=wire.WORKER_PHASE,
                                    step=runner.executor.step if runner.executor else 0,
                                    traceback=_bounded(traceback.format_exc())))
        else:
            traceback.print_exc()
    finally:
        if runner is not None:
            runner.close()
        network.close()
        context.term()

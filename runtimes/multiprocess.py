"""Multiprocess runtime: a coordinator in the user's process, workers in their own OS processes.

Workers run steps as soon as their inputs are there (no barrier per step). The coordinator
speaks to them only at run boundaries, for get/set and probe data, and to pause. It watches
every worker's process handle, so a worker that dies is reported at once, and any failure
ends every worker before the exception reaches the user.
"""
from __future__ import annotations

import atexit
import ctypes
import multiprocessing
import signal
import weakref

import numpy as np
import zmq

from lava_lite.errors import ProcessModelError, WorkerDiedError
from lava_lite.plan import Plan
from lava_lite.runtime_registry import register_runtime
from lava_lite.runtimes import wire
from lava_lite.runtimes.watch import RunWatch
from lava_lite.runtimes.network import Network
from lava_lite.runtimes.worker import STARTUP_TIMEOUT_SECONDS, worker_main

POLL_MS = 200
STOP_GRACE_SECONDS = 1.0

# Runtimes not yet stopped, ended at interpreter exit.
_LIVE: "weakref.WeakSet[MultiprocessRuntime]" = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for runtime in list(_LIVE):
        runtime.stop()


def _start_worker(coordinator_ends: tuple, *args) -> None:
    """Entry of a forked worker: close the coordinator's pipe ends it inherited (so that it
    sees EOF if the coordinator fails before sending the endpoint), then serve."""
    for end in coordinator_ends:
        end.close()
    worker_main(*args)


class MultiprocessRuntime:
    def __init__(self, plan: Plan, timeout: float | None = None,
                 show_progress: bool | None = None, transport: str = "ipc"):
        self.plan = plan
        self.transport = transport
        # Shared with the forked workers: progress[pid] = last step Process pid finished.
        shared = multiprocessing.RawArray(ctypes.c_int64, max(1, len(plan.processes)))
        self.watch = RunWatch(np.frombuffer(shared, np.int64)[:len(plan.processes)],
                              [p.name for p in plan.processes], timeout, show_progress)
        self.hosted_names = {w: [p.name for p in plan.on_worker(w)]
                             for w in range(plan.num_workers)}
        self.worker_ids = {str(w).encode(): w for w in range(plan.num_workers)}
        self.processes: list[multiprocessing.Process] = []
        self.context: zmq.Context | None = None
        self.router: zmq.Socket | None = None
        self.network: Network | None = None
        self.control_endpoint: str | None = None
        self.data_endpoints: dict[tuple[int, int], str] = {}  # (receiver, sender) -> endpoint
        self.current_step = 0
        self.target: int | None = 0
        self.requested: str | None = None  # what a model asked for at the end of the last run
        self.stopped = False

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        _LIVE.add(self)
        fork = multiprocessing.get_context("fork")  # workers see models defined in scripts
        endpoint_pipes = []  # the coordinator's ends: each worker learns the control endpoint
        try:
            self.network = Network(self.transport)
            # Fork before this process starts ZeroMQ's threads (a fork of a process that runs
            # threads may deadlock; Python 3.12+ warns); the endpoint follows once bound.
            for w in range(self.plan.num_workers):
                reader, writer = fork.Pipe(duplex=False)
                endpoint_pipes.append(writer)
                process = fork.Process(target=_start_worker,
                                       args=(tuple(endpoint_pipes), self.plan, w, self.network,
                                             reader, self.watch.progress),
                                       name=f"lava_lite-worker-{w}", daemon=True)
                try:
                    process.start()
                finally:
                    reader.close()
                self.processes.append(process)
            self.context = zmq.Context()
            self.network.start_authenticator(self.context)
            self.router = self.context.socket(zmq.ROUTER)
            self.router.setsockopt(zmq.LINGER, 0)
            self.router.setsockopt(zmq.ROUTER_MANDATORY, 1)
            self.control_endpoint = self.network.bind(self.router, "control")
            for writer in endpoint_pipes:
                try:
                    writer.send_bytes(self.control_endpoint.encode())
                except OSError:
                    pass  # that worker is gone already: _collect reports it
                writer.close()
            # Workers bind first, then each learns where its downstream peers listen.
            bound = self._collect(wire.Bound, timeout=STARTUP_TIMEOUT_SECONDS)
            self.data_endpoints = {(receiver, int(sender)): endpoint
                                   for receiver, (message, _) in bound.items()
                                   for sender, endpoint in message.endpoints.items()}
            for w in range(self.plan.num_workers):
                targets = {str(receiver): message.endpoints[str(w)]
                           for receiver, (message, _) in bound.items()
                           if str(w) in message.endpoints}
                self._send(w, wire.Connect(endpoints=targets))
            self._collect(wire.Ready, timeout=STARTUP_TIMEOUT_SECONDS)
        except BaseException:
            for writer in endpoint_pipes:  # a worker still waiting for the endpoint sees EOF
                writer.close()
            self.stop()
            raise

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        _LIVE.discard(self)
        for w, process in enumerate(self.processes):
            if process.is_alive() and self.router is not None:  # (None: failed in start)
                self._send(w, wire.Stop(), quiet=True)
        for process in self.processes:
            process.join(STOP_GRACE_SECONDS)
        for process in self.processes:
            if process.is_alive():
                process.kill()
                process.join()
            process.close()
        self.processes = []
        if self.router is not None:
            self.router.close(linger=0)
        if self.network is not None:
            self.network.close()
        if self.context is not None:
            self.context.term()
        if self.network is not None:
            self.network.remove()

    # -- messaging -------------------------------------------------------------------------
    def _send(self, worker: int, message, arrays=(), quiet: bool = False) -> None:
        try:  # copied: a zero-copy send of a large frame starts pyzmq's garbage-collector
            # thread in the user's process for good, and later forks would then run threads
            self.router.send_multipart([str(worker).encode(),
                                        *wire.encode_control(message, arrays)])
        except zmq.ZMQError:
            if quiet:
                return
            self.processes[worker].join(0.5)  # unreachable: most likely it just died
            if not self.processes[worker].is_alive():
                raise self._death_error(worker) from None
            raise

    def _receive(self, timeout: float | None = None, watch: bool = False):
        """Next (worker, message, arrays); raises on a worker's failure or death, and, with
        ``watch``, on a run that stalls (RunWatch)."""
        poller = zmq.Poller()
        poller.register(self.router, zmq.POLLIN)
        sentinels = {p.sentinel: w for w, p in enumerate(self.processes)}
        for fd in sentinels:
            poller.register(fd, zmq.POLLIN)
        waited = 0.0
        while True:
            ready = dict(poller.poll(POLL_MS))
            if self.router in ready:
                identity, *frames = self.router.recv_multipart()
                worker = self.worker_ids.get(identity)
                if worker is None:
                    continue  # not one of ours: ignore
                try:
                    message, arrays = wire.decode_control(frames)
                except wire.WireError:
                    continue
                if isinstance(message, wire.Failed):
                    raise ProcessModelError(message.process, message.model, message.phase,
                                            message.step, message.traceback, worker=worker)
                return worker, message, arrays
            for fd, w in sentinels.items():
                if fd in ready:
                    raise self._death_error(w)
            if watch:
                self.watch.check()
            waited += POLL_MS / 1000
            if timeout is not None and waited >= timeout:
                raise TimeoutError("no answer from the workers")

    def _death_error(self, worker: int) -> WorkerDiedError:
        process = self.processes[worker]
        process.join(0.1)
        code = process.exitcode
        how = (f"killed by signal {signal.Signals(-code).name}" if code is not None and code < 0
               else f"exit code {code}")
        return WorkerDiedError(f"worker {worker} (hosting {', '.join(self.hosted_names[worker])})"
                               f" died unexpectedly ({how}); all workers were stopped")

    def _collect(self, kind, timeout: float | None = None, step: int | None = None,
                 workers=None, watch: bool = False, accept=None) -> dict[int, tuple]:
        """Wait for one ``kind`` message (with ``step``, if given, or that ``accept``
        approves) from each worker."""
        waiting = set(range(self.plan.num_workers) if workers is None else workers)
        replies = {}
        while waiting:
            worker, message, arrays = self._receive(timeout, watch)
            if isinstance(message, kind) and worker in waiting and (
                    step is None or message.step == step) and (
                    accept is None or accept(message)):
                waiting.discard(worker)
                replies[worker] = (message, arrays)
        return replies

    def _request(self, worker: int, message, arrays=()) -> list[np.ndarray]:
        self._send(worker, message, arrays)
        reply, replied_arrays = self._collect(wire.Reply, workers=[worker])[worker]
        if reply.error:
            raise ValueError(reply.error)
        return replied_arrays

    # -- runs ------------------------------------------------------------------------------
    def run(self, num_steps: int | None) -> None:
        self.target = None if num_steps is None else self.current_step + num_steps
        self.watch.begin(self.target)
        for w in range(self.plan.num_workers):
            self._send(w, wire.Run(until=self.target))

    def wait(self, timeout: float | None = None) -> None:
        self.requested = None
        try:
            # A continuous run never sends Done unless a model asks to pause or stop: this
            # waits until then, an error or Ctrl-C.
            done = self._collect(wire.Done, watch=True, timeout=timeout,
                                 accept=lambda m: m.step == self.target
                                 or m.requested is not None)
        finally:
            self.watch.end()
        self.current_step = max(message.step for message, _ in done.values())
        self.requested = next((m.requested for m, _ in done.values() if m.requested), None)

    def pause(self, timeout: float | None = None) -> None:
        """Bring every worker to one step; ``timeout``: give up (TimeoutError) after that
        long at each stage."""
        for w in range(self.plan.num_workers):
            self._send(w, wire.Halt())
        halted = self._collect(wire.Halted, watch=True, timeout=timeout)
        self.target = max(message.step for message, _ in halted.values())
        for w in range(self.plan.num_workers):
            self._send(w, wire.Run(until=self.target))
        self.wait(timeout)

    # -- state -----------------------------------------------------------------------------
    def get_var(self, process_id: int, name: str) -> np.ndarray:
        worker = self.plan.process(process_id).worker
        (value,) = self._request(worker, wire.GetVar(process=process_id, var=name))
        return value.copy()

    def set_var(self, process_id: int, name: str, value: np.ndarray) -> None:
        worker = self.plan.process(process_id).worker
        self._request(worker, wire.SetVar(process=process_id, var=name), (value,))

    def stats(self) -> tuple[dict[int, tuple[float, float]], list[list[int]]]:
        """Per Process (seconds computing, seconds waiting); per worker [messages sent,
        bytes sent, messages received, bytes received]."""
        for w in range(self.plan.num_workers):
            self._send(w, wire.GetStats())
        replies = self._collect(wire.Reply)
        times, traffic = {}, []
        for w in range(self.plan.num_workers):
            reply, (rows, counters) = replies[w]
            times.update({pid: tuple(row) for pid, row in zip(reply.ids, rows.tolist())})
            traffic.append(counters.tolist())
        return times, traffic

    def probe_data(self) -> dict[int, np.ndarray]:
        data = {}
        for w in range(self.plan.num_workers):
            self._send(w, wire.GetProbes())
        for reply, arrays in self._collect(wire.Reply).values():
            data.update({pid: array.copy() for pid, array in zip(reply.ids, arrays)})
        return data


register_runtime("multiprocess", MultiprocessRuntime)

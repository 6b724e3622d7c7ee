"""Multiprocess runtime: a coordinator in the user's process, workers in their own OS processes.

Workers run steps as soon as their inputs are there (no barrier per step). The coordinator
speaks to them only at run boundaries, for get/set and probe data, and to pause. It watches
every worker's process handle, so a worker that dies is reported at once, and any failure
ends every worker before the exception reaches the user.

Every wait is bounded: control replies (start-up, get/set, stats, probe data) by the run's
``timeout`` or CONTROL_TIMEOUT_SECONDS, model construction by the time without any Process
finishing its construction, runs by ``timeout`` (no step finished) and, whatever the timeout, a
worker frozen by a signal is reported. ``stop()`` ends every worker within about
STOP_GRACE_SECONDS (then SIGKILL), whatever state they are in.

Threads: the coordinator's socket is used only by the thread that holds the session; another
thread asks that one to pause through ``interrupt()`` (a pipe the waiting thread polls).
"""
from __future__ import annotations

import atexit
import ctypes
import errno
import multiprocessing
import multiprocessing.util
import os
import resource
import signal
import threading
import time
import weakref

import numpy as np
import zmq

from lava_lite.errors import ProcessModelError, RunTimeoutError, WorkerDiedError, WorkerError
from lava_lite.plan import Plan
from lava_lite.backends import register_runtime
from lava_lite.runtimes import wire
from lava_lite.runtimes.orphans import end_cleanly_on_signals
from lava_lite.runtimes.watch import RunWatch
from lava_lite.runtimes.network import CONTROL_SOCKET, Network
from lava_lite.runtimes.worker import worker_main

POLL_MS = 200
STOP_GRACE_SECONDS = 1.0  # for every worker together, before SIGKILL
CONTROL_TIMEOUT_SECONDS = 10.0  # default bound on a control reply (get, set, stats, probes)
STARTUP_TIMEOUT_SECONDS = 30.0  # default bound on a start without construction progress
FROZEN_CHECK_SECONDS = 0.5  # how often waits look for workers stopped by a signal
NOT_BUILT = -1  # progress of a Process whose model is not constructed yet
DESCRIPTOR_MARGIN = 16
SETTLE_SECONDS = 0.1  # after a failure: progress this still means the survivors are blocked

# Runtimes not yet stopped, ended at interpreter exit.
_LIVE: "weakref.WeakSet[MultiprocessRuntime]" = weakref.WeakSet()


@atexit.register
def _stop_all() -> None:
    for runtime in list(_LIVE):
        runtime.stop()


# multiprocessing's own exit hook SIGTERMs daemonic workers (which then die without closing a
# chip they host, leaving its directory) and may run before any atexit hook; its finalizers
# with an exit priority run first in that hook, whatever the order of registration.
multiprocessing.util.Finalize(None, _stop_all, exitpriority=100)


def _start_worker(coordinator_ends: tuple, *args) -> None:
    """Entry of a forked worker: close the coordinator's pipe ends it inherited (so that it
    sees EOF if the coordinator fails before sending the endpoint), then serve."""
    for end in coordinator_ends:
        end.close()
    worker_main(*args)


class _Interrupted(Exception):
    """Another thread asked the waiting thread to pause the run (``interrupt()``)."""


def _is_frozen(pid: int) -> bool:
    """Whether process ``pid`` is stopped by a signal (SIGSTOP, SIGTSTP) or a tracer."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] in (b"T", b"t")
    except (OSError, IndexError):
        return False


class MultiprocessRuntime:
    def __init__(self, plan: Plan, timeout: float | None = None,
                 show_progress: bool | None = None, transport: str = "ipc"):
        self.plan = plan
        self.transport = transport
        self.control_timeout = CONTROL_TIMEOUT_SECONDS if timeout is None else timeout
        self.startup_timeout = STARTUP_TIMEOUT_SECONDS if timeout is None else timeout
        # Shared with the forked workers: progress[pid] = last step Process pid finished
        # (NOT_BUILT until its model is constructed).
        shared = multiprocessing.RawArray(ctypes.c_int64, max(1, len(plan.processes)))
        progress = np.frombuffer(shared, np.int64)[:len(plan.processes)]
        progress[:] = NOT_BUILT
        self.watch = RunWatch(progress, [p.name for p in plan.processes], timeout,
                              show_progress)
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
        self._wake: tuple[int, int] | None = None  # pipe: interrupt() -> the waiting thread
        self._frozen_since: dict[int, float] = {}
        self._next_frozen_check = 0.0

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        _ensure_descriptors(self.plan)
        _LIVE.add(self)
        end_cleanly_on_signals()
        fork = multiprocessing.get_context("fork")  # workers see models defined in scripts
        by_main_thread = threading.current_thread() is threading.main_thread()
        endpoint_pipes = []  # the coordinator's ends: each worker learns the control endpoint
        try:
            self.network = Network(self.transport, num_workers=self.plan.num_workers)
            # Fork before this process starts ZeroMQ's threads (a fork of a process that runs
            # threads may deadlock; Python 3.12+ warns); the endpoint follows once bound.
            for w in range(self.plan.num_workers):
                reader, writer = fork.Pipe(duplex=False)
                endpoint_pipes.append(writer)
                process = fork.Process(target=_start_worker,
                                       args=(tuple(endpoint_pipes), self.plan, w, self.network,
                                             reader, self.watch.progress, by_main_thread),
                                       name=f"lava_lite-worker-{w}", daemon=True)
                try:
                    process.start()
                finally:
                    reader.close()
                self.processes.append(process)
            self._wake = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
            self.context = zmq.Context()
            self.network.start_authenticator(self.context)
            self.router = self.context.socket(zmq.ROUTER)
            self.router.setsockopt(zmq.LINGER, 0)
            self.router.setsockopt(zmq.ROUTER_MANDATORY, 1)
            self.control_endpoint = self.network.bind(self.router, CONTROL_SOCKET)
            for writer in endpoint_pipes:
                try:
                    writer.send_bytes(self.control_endpoint.encode())
                except OSError:
                    pass  # that worker is gone already: _collect reports it
                writer.close()
            # Workers bind first, then each learns where its downstream peers listen.
            bound = self._collect(wire.Bound, "start", timeout=self.startup_timeout)
            self.data_endpoints = {(receiver, int(sender)): endpoint
                                   for receiver, (message, _) in bound.items()
                                   for sender, endpoint in message.endpoints.items()}
            for w in range(self.plan.num_workers):
                targets = {str(receiver): message.endpoints[str(w)]
                           for receiver, (message, _) in bound.items()
                           if str(w) in message.endpoints}
                self._send(w, wire.Connect(endpoints=targets))
            self._collect(wire.Ready, "start", timeout=self.startup_timeout,
                          progress=self._models_built)
        except BaseException as exc:
            for writer in endpoint_pipes:  # a worker still waiting for the endpoint sees EOF
                writer.close()
            self.stop()
            if getattr(exc, "errno", None) == errno.EMFILE:  # (OSError or ZMQError)
                raise _too_many_files(self.plan) from exc
            raise

    def stop(self) -> None:
        """End every worker: each is asked to stop, and whatever has not ended within
        STOP_GRACE_SECONDS (all together) is killed; then sockets, pipe, directory."""
        if self.stopped:
            return
        self.stopped = True
        _LIVE.discard(self)
        if self.router is not None:  # (None: failed in start, before binding)
            for w, process in enumerate(self.processes):
                if process.is_alive():
                    self._send(w, wire.Stop(), quiet=True)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
        for process in self.processes:
            if process.is_alive():
                process.kill()  # (SIGKILL also ends a process frozen by SIGSTOP)
        for process in self.processes:
            process.join(STOP_GRACE_SECONDS)
            if process.exitcode is not None:
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
        if self._wake is not None:
            for fd in self._wake:
                os.close(fd)
            self._wake = None

    def interrupt(self) -> None:
        """Ask the thread waiting for the run (in ``wait``) to pause it now; safe to call
        from any thread. Does nothing if no thread is waiting."""
        if self._wake is not None:
            try:
                os.write(self._wake[1], b"!")
            except OSError:
                pass  # the pipe is full (already asked) or closed (stopped)

    def _clear_interrupt(self) -> None:
        try:
            while os.read(self._wake[0], 4096):
                pass
        except OSError:
            pass  # empty

    # -- messaging -------------------------------------------------------------------------
    def _describe(self, worker: int) -> str:
        return f"worker {worker} (hosting {', '.join(self.hosted_names[worker])})"

    def _send(self, worker: int, message, arrays=(), quiet: bool = False) -> None:
        try:  # copied: a zero-copy send of a large frame starts pyzmq's garbage-collector
            # thread in the user's process for good, and later forks would then run threads
            self.router.send_multipart([str(worker).encode(),
                                        *wire.encode_control(message, arrays)], zmq.NOBLOCK)
        except zmq.ZMQError as exc:
            if quiet:
                return
            self.processes[worker].join(0.5)  # unreachable: most likely it just died
            if not self.processes[worker].is_alive():
                raise self._death_error(worker) from None
            if exc.errno == zmq.EAGAIN:
                raise RunTimeoutError(f"{self._describe(worker)} does not read its control "
                                      f"messages; all workers were stopped") from None
            raise

    def _receive(self, deadline: float | None, watch: bool = False,
                 interruptible: bool = False, tolerant: bool = False):
        """Next (worker, message, arrays), or None once ``deadline`` (monotonic) has passed.

        Raises on a worker's failure or death (``tolerant``: those are passed over), on a
        worker frozen by a signal for longer than the control timeout, with ``watch`` on a
        run that stalls (RunWatch), and with ``interruptible`` on ``interrupt()``."""
        poller = zmq.Poller()
        poller.register(self.router, zmq.POLLIN)
        sentinels = {} if tolerant else {p.sentinel: w for w, p in enumerate(self.processes)}
        for fd in sentinels:
            poller.register(fd, zmq.POLLIN)
        if interruptible:
            poller.register(self._wake[0], zmq.POLLIN)
        while True:
            wait_ms = POLL_MS if deadline is None else max(0, min(
                POLL_MS, int((deadline - time.monotonic()) * 1000) + 1))
            ready = dict(poller.poll(wait_ms))
            if self.router in ready:
                identity, *frames = self.router.recv_multipart(copy=False)
                worker = self.worker_ids.get(identity.bytes)
                if worker is None:
                    continue  # not one of ours: ignore
                try:
                    message, arrays = wire.decode_control(frames)
                except wire.WireError as exc:
                    if tolerant:
                        continue
                    raise WorkerError(f"{self._describe(worker)} sent a message the "
                                      f"coordinator cannot read ({exc}); all workers were "
                                      f"stopped") from None
                if isinstance(message, wire.Failed):
                    if tolerant:
                        continue
                    raise self._failure_error(worker, message)
                return worker, message, arrays
            for fd, w in sentinels.items():
                if fd in ready:
                    raise self._death_error(w)
            if interruptible and self._wake[0] in ready:
                self._clear_interrupt()
                raise _Interrupted
            if watch:
                self.watch.check()
            if not tolerant:
                self._check_frozen()
            if deadline is not None and time.monotonic() >= deadline:
                return None

    def _failure_error(self, worker: int, message: wire.Failed) -> Exception:
        if message.phase == wire.WORKER_PHASE:  # outside any model: name what it hosted
            return WorkerError(f"{self._describe(worker)} failed outside any model at time "
                               f"step {message.step}; all workers were stopped.\n--- traceback "
                               f"from the worker ---\n{message.traceback}")
        return ProcessModelError(message.process, message.model, message.phase, message.step,
                                 message.traceback, worker=worker)

    def _check_frozen(self) -> None:
        """Raise RunTimeoutError for a worker stopped by a signal for longer than the
        control timeout (it would otherwise be waited for forever)."""
        now = time.monotonic()
        if now < self._next_frozen_check:
            return
        self._next_frozen_check = now + FROZEN_CHECK_SECONDS
        for w, process in enumerate(self.processes):
            if not _is_frozen(process.pid):
                self._frozen_since.pop(w, None)
            elif now - self._frozen_since.setdefault(w, now) >= self.control_timeout:
                raise RunTimeoutError(f"{self._describe(worker=w)} has been stopped by a signal "
                                      f"(SIGSTOP?) for {self.control_timeout:g} s; all workers "
                                      f"were stopped")

    def _death_error(self, worker: int) -> WorkerDiedError:
        process = self.processes[worker]
        process.join(0.1)
        code = process.exitcode
        how = (f"killed by signal {signal.Signals(-code).name}" if code is not None and code < 0
               else f"exit code {code}")
        if code == -signal.SIGKILL:
            how += ": by the user, or by the kernel when memory ran out"
        return WorkerDiedError(f"{self._describe(worker)} died unexpectedly ({how}); all "
                               f"workers were stopped")

    def _models_built(self) -> int:
        return int(np.count_nonzero(self.watch.progress != NOT_BUILT))

    def _collect(self, kind, what: str, timeout: float | None = None, step: int | None = None,
                 workers=None, watch: bool = False, accept=None, interruptible: bool = False,
                 progress=None, tolerant: bool = False) -> dict[int, tuple]:
        """Wait for one ``kind`` message (with ``step``, if given, or that ``accept``
        approves) from each worker, for request ``what``.

        ``timeout``: seconds to wait for them (RunTimeoutError naming the silent workers),
        counted afresh whenever ``progress()`` changes; ``tolerant``: return the replies
        that came by then instead, passing over failed and dead workers."""
        waiting = set(range(self.plan.num_workers) if workers is None else workers)
        replies = {}
        seen = None if progress is None else progress()
        deadline = None if timeout is None else time.monotonic() + timeout
        while waiting:
            received = self._receive(deadline, watch, interruptible, tolerant)
            if received is None:
                now = progress() if progress is not None else None
                if now != seen:
                    seen, deadline = now, time.monotonic() + timeout
                    continue
                if tolerant:
                    return replies
                raise self._silence_error(what, sorted(waiting), timeout)
            worker, message, arrays = received
            if isinstance(message, kind) and worker in waiting and (
                    step is None or message.step == step) and (
                    accept is None or accept(message)):
                waiting.discard(worker)
                replies[worker] = (message, arrays)
        return replies

    def _silence_error(self, what: str, silent: list[int], timeout: float) -> RunTimeoutError:
        if what == "start":  # models are built in schedule order: name the first unbuilt
            building = [next(self.plan.process(pid).name for pid in self.plan.schedule
                             if self.plan.process(pid).worker == w
                             and self.watch.progress[pid] == NOT_BUILT)
                        for w in silent if (self.watch.progress[[
                            p.id for p in self.plan.on_worker(w)]] == NOT_BUILT).any()]
            if building:
                return RunTimeoutError(
                    f"the model construction of {', '.join(map(repr, building))} made no "
                    f"progress for {timeout:g} s (a model __init__ that does not return?); "
                    f"all workers were stopped")
        return RunTimeoutError(f"no answer to '{what}' within {timeout:g} s from "
                               f"{'; '.join(map(self._describe, silent))}; all workers were "
                               f"stopped")

    def _request(self, worker: int, message, arrays=()) -> list[np.ndarray]:
        self._send(worker, message, arrays)
        reply, replied_arrays = self._collect(wire.Reply, message.k, self.control_timeout,
                                              workers=[worker])[worker]
        if reply.error:
            raise ValueError(reply.error)
        return replied_arrays

    # -- runs ------------------------------------------------------------------------------
    def run(self, num_steps: int | None) -> None:
        self._clear_interrupt()  # an interrupt asked before this run is not for it
        self.target = None if num_steps is None else self.current_step + num_steps
        self.watch.begin(self.target)
        for w in range(self.plan.num_workers):
            self._send(w, wire.Run(until=self.target))

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the run's end; if ``interrupt()`` is called meanwhile, pause it there."""
        try:
            self._finish(timeout, interruptible=True)
        except _Interrupted:
            self.pause(timeout)

    def _finish(self, timeout: float | None, interruptible: bool = False) -> None:
        self.requested = None
        try:
            # A continuous run never sends Done unless a model asks to pause or stop: this
            # waits until then, an error or Ctrl-C.
            done = self._collect(wire.Done, "run", watch=True, timeout=timeout,
                                 interruptible=interruptible,
                                 accept=lambda m: m.step == self.target
                                 or m.requested is not None)
        finally:
            self.watch.end()
        self.current_step = max(message.step for message, _ in done.values())
        self.requested = next((m.requested for m, _ in done.values() if m.requested), None)

    def pause(self, timeout: float | None = None) -> None:
        """Bring every worker to one step; ``timeout``: give up (RunTimeoutError) after that
        long at each stage."""
        for w in range(self.plan.num_workers):
            self._send(w, wire.Halt())
        halted = self._collect(wire.Halted, "pause", watch=True, timeout=timeout)
        self.target = max(message.step for message, _ in halted.values())
        for w in range(self.plan.num_workers):
            self._send(w, wire.Run(until=self.target))
        self._finish(timeout)

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
        replies = self._collect(wire.Reply, "stats", self.control_timeout)
        times, traffic = {}, []
        for w in range(self.plan.num_workers):
            reply, (rows, counters) = replies[w]
            times.update({pid: tuple(row) for pid, row in zip(reply.ids, rows.tolist())})
            traffic.append(counters.tolist())
        return times, traffic

    def probe_data(self, timeout: float | None = None, tolerant: bool = False
                   ) -> dict[int, np.ndarray]:
        """The rows every probe recorded (``ProbeStore.recorded()``), by probe id;
        ``tolerant``: from the workers that are alive and answer within ``timeout`` (after a
        failure), the others' probes left out."""
        asked = [w for w, process in enumerate(self.processes)
                 if not tolerant or process.is_alive()]
        for w in asked:
            self._send(w, wire.GetProbes(), quiet=tolerant)
        replies = self._collect(wire.Reply, "probes", timeout or self.control_timeout,
                                workers=asked, tolerant=tolerant)
        return {pid: rows for reply, arrays in replies.values()
                for pid, rows in zip(reply.ids, arrays)}

    def salvage(self, timeout: float) -> tuple[int, dict[int, np.ndarray]]:
        """After a failure: the last step every Process finished, and what the probes of the
        workers that still answer recorded, within ``timeout`` in all. Workers behind the
        failed one first finish the steps whose inputs they have (until their progress
        stays put for SETTLE_SECONDS), so that their data reaches as far as the failure."""
        deadline = time.monotonic() + timeout
        progress = self.watch.progress
        seen, settled = progress.copy(), time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < min(settled, deadline):
            time.sleep(SETTLE_SECONDS / 10)
            if not np.array_equal(progress, seen):
                seen, settled = progress.copy(), time.monotonic() + SETTLE_SECONDS
        step = max(0, int(seen.min())) if seen.size else 0
        if not any(p.probes for p in self.plan.processes):
            return step, {}
        return step, self.probe_data(max(deadline - time.monotonic(), SETTLE_SECONDS),
                                     tolerant=True)


def descriptors_needed(plan: Plan) -> int:
    """File descriptors the busiest process of a run of ``plan`` opens (measured: the
    coordinator ~12 + 3 per worker; a worker ~22, plus 2 per worker forked before it and 2
    per peer it exchanges data with), with a margin for a device such as the chip."""
    workers = plan.num_workers
    worker_of = {p.id: p.worker for p in plan.processes}
    peers = {w: set() for w in range(workers)}
    for channel in (*plan.channels, *plan.ref_channels):
        a, b = worker_of[channel.src], worker_of[channel.dst]
        if a != b:
            peers[a].add(b)
            peers[b].add(a)
    busiest_worker = max((22 + 2 * w + 2 * len(peers[w]) for w in range(workers)), default=0)
    return max(12 + 3 * workers, busiest_worker) + DESCRIPTOR_MARGIN


def _ensure_descriptors(plan: Plan) -> None:
    """Raise this process's soft limit on open files (inherited by the workers) to what the
    run needs, if the hard limit allows; otherwise say so before anything starts."""
    needed = descriptors_needed(plan)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise _too_many_files(plan)
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def _too_many_files(plan: Plan) -> OSError:
    """EMFILE, explained: how many descriptors a run of ``plan`` needs and how to get them."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return OSError(errno.EMFILE, f"a run on {plan.num_workers} workers needs about "
                                 f"{descriptors_needed(plan)} open files per process, but this "
                                 f"process may open {soft} (ulimit -n; hard limit {hard}): "
                                 f"raise the limit (ulimit -n), or use fewer workers "
                                 f"(RunConfig(workers=...))")


register_runtime("multiprocess", MultiprocessRuntime)

"""The IPC floor: bare pyzmq between two OS processes on this machine, no framework.

* ping-pong: process A sends a message on a PUSH socket, B receives it on PULL and sends it
  back on its own PUSH; the round trip (A send -> A receive) is what one lock-step exchange
  between two workers costs at the least, and half of it is one hop's latency;
* pipe ping-pong: the same round trip over two plain OS pipes (no ZeroMQ, no I/O threads),
  the kernel's floor for waking another process and being woken back;
* stream: A sends messages as fast as it can, B receives them; the time per message is what
  a free-running pipeline pays per hop when nobody waits.

Messages are shaped like lava_lite's data messages: a small msgpack-sized header frame plus the
payload of an n = 100 float64 spike vector (800 bytes), sent as one multipart message.
"""
from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
import time

import numpy as np
import zmq

HEADER = b"\x95\xa1d\x00\xcd\x01\x00\xa3<f8\x91d"  # ~["d", 0, 256, "<f8", [100]]


def _echo(address_in: str, address_out: str, count: int) -> None:
    context = zmq.Context()
    pull = context.socket(zmq.PULL)
    pull.bind(address_in)
    push = context.socket(zmq.PUSH)
    push.connect(address_out)
    for _ in range(count):
        push.send_multipart(pull.recv_multipart())
    push.close(linger=1000)
    pull.close()
    context.term()


def _sink(address_in: str, count: int) -> None:
    context = zmq.Context()
    pull = context.socket(zmq.PULL)
    pull.bind(address_in)
    push = context.socket(zmq.PUSH)  # one "done" message back
    push.connect(address_in + "-done")
    for _ in range(count):
        pull.recv_multipart()
    push.send(b"done")
    push.close(linger=1000)
    pull.close()
    context.term()


def _end(child, sockets, context, directory: str) -> None:
    """End a measurement: the peer process, the sockets, the context, the socket directory."""
    child.join(5)
    if child.is_alive():
        child.kill()
    for sock in sockets:
        sock.close(linger=0)
    context.term()
    shutil.rmtree(directory, ignore_errors=True)


def ping_pong(rounds: int = 5000, payload_bytes: int = 800, copy: bool = True) -> float:
    """Mean round trip in microseconds (after 200 warm-up rounds)."""
    directory = tempfile.mkdtemp(prefix="lava_lite-bench-")
    to_echo, back = f"ipc://{directory}/a", f"ipc://{directory}/b"
    payload = np.zeros(payload_bytes // 8)
    warm = 200
    fork = multiprocessing.get_context("fork")
    context = zmq.Context()
    pull = context.socket(zmq.PULL)
    pull.bind(back)
    child = fork.Process(target=_echo, args=(to_echo, back, rounds + warm), daemon=True)
    child.start()
    push = context.socket(zmq.PUSH)
    push.connect(to_echo)
    try:
        for _ in range(warm):
            push.send_multipart([HEADER, payload], copy=copy)
            pull.recv_multipart(copy=copy)
        start = time.perf_counter()
        for _ in range(rounds):
            push.send_multipart([HEADER, payload], copy=copy)
            pull.recv_multipart(copy=copy)
        elapsed = time.perf_counter() - start
    finally:
        _end(child, (push, pull), context, directory)
    return elapsed / rounds * 1e6


def pipe_ping_pong(rounds: int = 5000, payload_bytes: int = 800) -> float:
    """Mean round trip in microseconds over two OS pipes between two processes."""
    to_child, from_parent = os.pipe()
    to_parent, from_child = os.pipe()
    message = bytes(len(HEADER) + payload_bytes)
    warm = 200
    pid = os.fork()
    if pid == 0:  # child: echo
        try:
            for _ in range(rounds + warm):
                os.write(from_child, os.read(to_child, 65536))
        finally:
            os._exit(0)
    try:
        for _ in range(warm):
            os.write(from_parent, message)
            os.read(to_parent, 65536)
        start = time.perf_counter()
        for _ in range(rounds):
            os.write(from_parent, message)
            os.read(to_parent, 65536)
        elapsed = time.perf_counter() - start
    finally:
        os.waitpid(pid, 0)
        for fd in (to_child, from_parent, to_parent, from_child):
            os.close(fd)
    return elapsed / rounds * 1e6


def stream(messages: int = 50000, payload_bytes: int = 800, copy: bool = True) -> float:
    """Microseconds per message of a one-way PUSH -> PULL stream between two processes."""
    directory = tempfile.mkdtemp(prefix="lava_lite-bench-")
    address = f"ipc://{directory}/s"
    payload = np.zeros(payload_bytes // 8)
    fork = multiprocessing.get_context("fork")
    context = zmq.Context()
    done = context.socket(zmq.PULL)
    done.bind(address + "-done")
    child = fork.Process(target=_sink, args=(address, messages), daemon=True)
    child.start()
    push = context.socket(zmq.PUSH)
    push.connect(address)
    try:
        start = time.perf_counter()
        for _ in range(messages):
            push.send_multipart([HEADER, payload], copy=copy)
        done.recv()
        elapsed = time.perf_counter() - start
    finally:
        _end(child, (push, done), context, directory)
    return elapsed / messages * 1e6


def measure(quick: bool = False, repeats: int = 3) -> dict[str, float]:
    """Each figure is the median of ``repeats`` runs (the machine's other load shows up as
    large swings: a busy machine even makes wake-ups faster, as idle cores sleep deeper)."""
    scale = 5 if quick else 1
    runs = {
        "ping_pong_round_trip_us": lambda: ping_pong(rounds=5000 // scale),
        "ping_pong_round_trip_zero_copy_us": lambda: ping_pong(rounds=5000 // scale, copy=False),
        "pipe_round_trip_us": lambda: pipe_ping_pong(rounds=5000 // scale),
        "stream_per_message_us": lambda: stream(messages=50000 // scale),
        "stream_per_message_zero_copy_us": lambda: stream(messages=50000 // scale, copy=False),
    }
    result = {key: float(np.median([run() for _ in range(repeats)])) for key, run in runs.items()}
    result["cpu_count"] = os.cpu_count() or 0
    return result


if __name__ == "__main__":
    for key, value in measure().items():
        print(f"{key:40s} {value:10.1f}")

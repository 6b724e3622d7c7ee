"""Transports: ipc and CurveZMQ-authenticated tcp; peers without the run's keys are shut out."""
import os
import stat
import time

import numpy as np
import pytest
import zmq

from lava_lite import RunConfig, RunContinuous, RunSteps
from lava_lite.proc_lib import SinkRingBuffer
from lava_lite.runtimes import wire
from support import Ramp


def ramp_to_sink(steps):
    ramp = Ramp(name="ramp")
    sink = SinkRingBuffer(shape=(3,), buffer=steps, name="sink")
    ramp.out.connect(sink.a_in)
    return ramp, sink


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_both_transports_run_the_same(transport):
    ramp, sink = ramp_to_sink(20)
    with ramp:
        ramp.run(RunSteps(20), RunConfig(workers="per_process", transport=transport))
        np.testing.assert_array_equal(sink.data.get()[0], np.arange(1, 21))
        runtime = ramp._session.runtime
        assert runtime.control_endpoint.startswith(f"{transport}://")


def test_tcp_refuses_peers_without_the_run_keys():
    steps = 400
    ramp, sink = ramp_to_sink(steps)
    cfg = RunConfig(workers="per_process", transport="tcp")
    with ramp:
        ramp.run(RunSteps(1), cfg)
        runtime = ramp._session.runtime
        worker_of = {p.name: p.worker for p in runtime.plan.processes}
        endpoint = runtime.data_endpoints[(worker_of["sink"], worker_of["ramp"])]
        assert endpoint.startswith("tcp://127.0.0.1:")
        context = zmq.Context()
        try:
            intruders = []
            plain = context.socket(zmq.PUSH)  # no Curve at all
            stranger = context.socket(zmq.PUSH)  # Curve, but with keys of its own
            public, secret = zmq.curve_keypair()
            stranger.curve_serverkey = runtime.network.keys.server_public
            stranger.curve_publickey, stranger.curve_secretkey = public, secret
            boss = context.socket(zmq.DEALER)  # tries to send a stop command
            boss.setsockopt(zmq.IDENTITY, b"0")
            for sock, target in ((plain, endpoint), (stranger, endpoint),
                                 (boss, runtime.control_endpoint)):
                sock.setsockopt(zmq.LINGER, 0)
                sock.connect(target)
                intruders.append(sock)
            forged = wire.encode_data(0, 50, np.full(3, -999.0))
            for sock in (plain, stranger):
                for _ in range(5):
                    sock.send_multipart(forged, flags=zmq.NOBLOCK)
            boss.send_multipart(wire.encode_control(wire.Stop()), flags=zmq.NOBLOCK)
            time.sleep(0.3)
            ramp.run(RunSteps(steps - 1), cfg)
            # Every value is the real one: nothing forged was received, no stop obeyed.
            np.testing.assert_array_equal(sink.data.get()[0], np.arange(1, steps + 1))
        finally:
            for sock in intruders:
                sock.close(linger=0)
            context.term()


def test_ipc_directory_is_private_and_removed():
    ramp, _ = ramp_to_sink(5)
    ramp.run(RunContinuous(), RunConfig(workers="per_process"))
    directory = ramp._session.runtime.network.ipc_dir
    mode = stat.S_IMODE(os.stat(directory).st_mode)
    assert mode == 0o700
    ramp.stop()
    assert not os.path.exists(directory)


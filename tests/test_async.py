"""Asynchronous models beside lock-step ones."""
import numpy as np
import pytest

from lava_lite import (AsyncProcessModel, CompileError, OutPort, OutPortType, Process,
                       ProcessModelError, RunConfig, RunContinuous, RunSteps, Var, VarType,
                       implements)
from lava_lite.proc_lib import SinkRingBuffer


class Producer(Process):
    """Sends k * 10 as its k-th value."""

    def __init__(self, *, fail_at=0, name=None):
        super().__init__(name=name)
        self.out = OutPort((2,))
        self.sent = Var((1,), init=0)
        self.proc_params["fail_at"] = fail_at


@implements(proc=Producer)
class ProducerModel(AsyncProcessModel):
    out = OutPortType(np.float64)
    sent = VarType(np.int64)

    def run_async(self):
        done = 0
        while self.num_steps is None or done < self.num_steps:
            if self.check_for_stop_cmd():
                return
            self.sent += 1
            if self.sent[0] == self.proc_params["fail_at"]:
                raise ValueError("producer failed on purpose")
            self.out.send(np.full(2, 10.0 * self.sent[0]))
            done += 1


@pytest.mark.parametrize("workers", [1, "per_process"])
def test_async_producer_feeds_a_lock_step_consumer(workers):
    producer = Producer(name="producer")
    sink = SinkRingBuffer(shape=(2,), buffer=12, name="sink")
    producer.out.connect(sink.a_in)
    with producer:
        producer.run(RunSteps(5), RunConfig(workers=workers))
        producer.run(RunSteps(7), RunConfig(workers=workers))
        assert producer.sent.get()[0] == 12
        np.testing.assert_array_equal(sink.data.get()[0], 10.0 * np.arange(1, 13))
        assert {p.worker for p in producer._session.plan.processes} == {0, 1}


def test_async_producer_pauses_with_the_rest():
    producer = Producer()
    sink = SinkRingBuffer(shape=(2,), buffer=100_000)
    producer.out.connect(sink.a_in)
    with producer:
        producer.run(RunContinuous(), RunConfig(workers=1))
        producer.pause()
        sent = int(producer.sent.get()[0])
        received = np.count_nonzero(sink.data.get()[0])
        assert sent >= received > 0
        np.testing.assert_array_equal(sink.data.get()[0, :received],
                                      10.0 * np.arange(1, received + 1))


def test_async_failure_is_reported():
    producer = Producer(fail_at=3, name="bad_producer")
    sink = SinkRingBuffer(shape=(2,), buffer=10)
    producer.out.connect(sink.a_in)
    with pytest.raises(ProcessModelError, match="(?s)'bad_producer'.*run_async.*on purpose"):
        producer.run(RunSteps(10), RunConfig(workers=1))


def test_async_needs_worker_processes():
    producer = Producer(name="p")
    with pytest.raises(CompileError, match="p run asynchronously"):
        producer.run(RunSteps(1), RunConfig(workers=0))

"""Asynchronous models beside lock-step ones."""
import numpy as np
import pytest

from lava_lite import (AsyncProcessModel, CompileError, LoihiProcessModel, OutPort,
                       OutPortType, Process, ProcessModelError, RefPort, RefPortType, RunConfig,
                       RunContinuous, RunSteps, Var, VarType, implements)
from lava_lite.proc_lib import Dense, SinkRingBuffer
from support import Alarm


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


@pytest.mark.placements("one_worker", "per_process")
def test_async_producer_feeds_a_lock_step_consumer(placement):
    producer = Producer(name="producer")
    sink = SinkRingBuffer(shape=(2,), buffer=12, name="sink")
    producer.out.connect(sink.a_in)
    with producer:
        producer.run(RunSteps(5), placement.run_cfg())
        producer.run(RunSteps(7), placement.run_cfg())
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


class Ticker(Process):
    """An asynchronous model with no ports: counts the steps it was given."""

    def __init__(self, name=None):
        super().__init__(name=name)
        self.ticks = Var((1,), init=0)


@implements(proc=Ticker)
class TickerModel(AsyncProcessModel):
    ticks = VarType(np.int64)

    def run_async(self):
        for _ in range(self.num_steps):
            self.ticks += 1


def test_async_model_without_ports_keeps_to_its_budget():
    ticker = Ticker()
    with ticker:
        ticker.run(RunSteps(5), RunConfig(workers=1, timeout=5))
        ticker.run(RunSteps(5), RunConfig(workers=1, timeout=5))
        assert ticker.ticks.get()[0] == 10 and ticker.current_step == 10


def test_async_producer_beside_a_run_controller_does_not_stall():
    producer = Producer()
    sink = SinkRingBuffer(shape=(2,), buffer=2000)
    producer.out.connect(sink.a_in)
    alarm = Alarm(at=1500, action="pause")
    spread = Dense(weights=np.ones((2, 1)), num_message_bits=24)
    alarm.out.connect(spread.s_in)
    spread.a_out.connect(sink.a_in)  # summed with the producer's values
    with producer:
        producer.run(RunSteps(2000), RunConfig(workers=1, timeout=5))
        assert alarm.count.get()[0] == 1500


def test_ref_port_to_an_async_process_is_refused():
    class Peeker(Process):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.ref = RefPort((1,))

    @implements(proc=Peeker)
    class PeekerModel(LoihiProcessModel):
        ref = RefPortType(np.int64)

    producer, peeker = Producer(name="async_one"), Peeker(name="peeker")
    peeker.ref.connect_var(producer.sent)
    with pytest.raises(CompileError, match="'peeker' targets Var 'sent' of 'async_one': "
                                           "RefPorts work in management phases"):
        peeker.compile(RunConfig(workers=1))

"""What a sent array is to its receivers, wherever they run: a read-only snapshot of the
value at send time (copied unless the model hands it over with ``copy=False``), delivered
on the step the port's delay says, and a model that skips a connected port is named."""
import numpy as np
import pytest

from lava_lite import (InPort, InPortType, LoihiProcessModel, OutPort, OutPortType, Process,
                       ProcessModelError, RunConfig, RunSteps, Var, VarType, implements, tag)
from lava_lite.proc_lib import SinkRingBuffer

STEPS = 6


class StateSender(Process):
    """Sends its step counter from a state Var; ``mode`` says how (see StateSenderModel)."""

    def __init__(self, *, shape=(3,), mode="copy", name=None):
        super().__init__(name=name)
        self.out = OutPort(shape)
        self.state = Var(shape, init=0)
        self.proc_params["mode"] = mode


@implements(proc=StateSender)
@tag("floating_pt")
class StateSenderModel(LoihiProcessModel):
    """``copy``: send the state, then scribble over it (receivers must not see that);
    ``hand_over``: send the state with copy=False, then try to change it (must raise);
    ``skip``: send nothing on step 3."""

    out = OutPortType(np.float64)
    state = VarType(np.float64)

    def run_spk(self):
        mode = self.proc_params["mode"]
        if mode == "skip" and self.time_step == 3:
            return
        if mode == "hand_over":
            fresh = np.full(self.state.shape, float(self.time_step))
            self.out.send(fresh, copy=False)
            fresh[0] = -1.0  # the model broke its promise: this must fail loudly
            return
        self.state[:] = self.time_step
        self.out.send(self.state)
        self.state[:] = -1.0


class Tamper(Process):
    """Receives, and tries to change what it received in place."""

    def __init__(self, *, shape=(3,), name=None):
        super().__init__(name=name)
        self.inp = InPort(shape)


@implements(proc=Tamper)
@tag("floating_pt")
class TamperModel(LoihiProcessModel):
    inp = InPortType(np.float64)

    def run_spk(self):
        received = self.inp.recv()
        received += 1.0


def sink_of(port, name):
    sink = SinkRingBuffer(shape=port.shape, buffer=STEPS, name=name)
    port.connect(sink.a_in)
    return sink


@pytest.mark.placements("in_process", "one_worker", "per_process")
def test_receivers_see_the_value_at_send_time(placement):
    counter = StateSender(name="counter")
    first, second = sink_of(counter.out, "first"), sink_of(counter.out, "second")
    with counter:
        counter.run(RunSteps(STEPS), placement.run_cfg(select_tag="floating_pt"))
        expected = np.tile(np.arange(1, STEPS + 1, dtype=float), (3, 1))
        np.testing.assert_array_equal(first.data.get(), expected)
        np.testing.assert_array_equal(second.data.get(), expected)


def _failure(counter, placement) -> ProcessModelError:
    """The error that ends a run of the graph of ``counter``."""
    with counter:
        with pytest.raises(ProcessModelError) as info:
            counter.run(RunSteps(STEPS), placement.run_cfg(select_tag="floating_pt"))
    return info.value


@pytest.mark.placements("in_process", "one_worker", "per_process")
def test_changing_a_handed_over_array_fails_naming_the_process(placement):
    counter = StateSender(name="careless", mode="hand_over")
    sink_of(counter.out, "sink")
    text = str(_failure(counter, placement))
    assert "careless" in text and "read-only" in text


@pytest.mark.placements("in_process", "one_worker", "per_process")
def test_a_receiver_cannot_change_what_it_received(placement):
    counter = StateSender(name="counter")
    tamper = Tamper(name="tamper")
    counter.out.connect(tamper.inp)
    sink_of(counter.out, "second")  # shares the array tamper got
    text = str(_failure(counter, placement))
    assert "tamper" in text and "read-only" in text


@pytest.mark.placements("in_process", "one_worker", "per_process")
def test_a_skipped_send_on_a_connected_port_is_named(placement):
    counter = StateSender(name="forgetful", mode="skip")
    sink_of(counter.out, "sink")
    error = _failure(counter, placement)
    assert "forgetful" in str(error) and "did not send on OutPort 'out'" in str(error)
    assert error.time_step == 3


def test_an_unconnected_port_may_stay_silent():
    counter = StateSender(name="alone", mode="skip")
    with counter:
        counter.run(RunSteps(STEPS), RunConfig(select_tag="floating_pt", workers=0))
        np.testing.assert_array_equal(counter.state.get(), np.full(3, -1.0))

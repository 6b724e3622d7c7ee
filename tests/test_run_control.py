"""Models that ask the runtime to pause or stop after the current step."""
import numpy as np
import pytest

from lava_lite import (LoihiProcessModel, OutPort, OutPortType, Process, ProcessModelError,
                       RunConfig, RunContinuous, RunStateError, RunSteps, Var, VarType,
                       implements)
from lava_lite.proc_lib import Dense, LIF, Monitor

PLACEMENTS = [0, 1, "per_process"]


class Alarm(Process):
    """Counts steps; asks to ``action`` ('pause' or 'stop') at step ``at``."""

    def __init__(self, *, at, action="stop", name=None):
        super().__init__(name=name)
        self.out = OutPort((1,))
        self.count = Var((1,), init=0)
        self.proc_params.update(at=at, action=action)


@implements(proc=Alarm)
class AlarmModel(LoihiProcessModel):
    controls_run = True
    out = OutPortType(np.float64)
    count = VarType(np.int64)

    def run_spk(self):
        self.count += 1
        self.out.send(self.count)
        if self.time_step == self.proc_params["at"]:
            getattr(self, f"request_{self.proc_params['action']}")()


def network(at, action):
    """Alarm -> Dense -> LIF, with the LIF (downstream, possibly in another worker)
    probed so that the step it reached can be read after stop."""
    alarm = Alarm(at=at, action=action, name="alarm")
    dense = Dense(weights=np.ones((1, 1)), num_message_bits=24)
    lif = LIF(shape=(1,), vth=1e9, name="lif")
    alarm.out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    monitor = Monitor()
    monitor.probe(lif.u, 50)
    return alarm, lif, monitor


@pytest.mark.parametrize("workers", PLACEMENTS)
def test_model_requested_stop_ends_the_run_at_that_step(workers):
    alarm, lif, monitor = network(at=7, action="stop")
    with alarm:
        alarm.run(RunSteps(50), RunConfig(workers=workers))
        assert alarm.current_step == 7
        u = monitor.get_data()["lif"]["u"][:, 0]
        assert alarm.count.get()[0] == 7  # state stays readable until stop()
        with pytest.raises(RunStateError, match="a model asked to stop the run at step 7"):
            alarm.run(RunSteps(1))
    # lif.u integrates alarm counts one step late: u(t) = sum(1..t-1); nothing after step 7.
    np.testing.assert_array_equal(u[:7], np.cumsum(np.arange(7)))
    assert not u[7:].any()
    assert alarm.current_step == 7


@pytest.mark.parametrize("workers", PLACEMENTS)
def test_model_requested_pause_then_continue(workers):
    alarm, lif, _ = network(at=4, action="pause")
    with alarm:
        alarm.run(RunContinuous(), RunConfig(workers=workers))
        alarm.wait()  # a continuous run ends when the model asks
        assert alarm.count.get()[0] == 4 and lif.u.get()[0] == 6
        alarm.run(RunSteps(3), RunConfig(workers=workers))
        assert alarm.count.get()[0] == 7 and lif.u.get()[0] == 21


def test_request_without_declaring_controls_run_is_a_clear_error():
    class Rogue(Alarm):
        pass

    @implements(proc=Rogue)
    class RogueModel(AlarmModel):
        controls_run = False

    rogue = Rogue(at=2, name="rogue")
    with pytest.raises(ProcessModelError, match="(?s)'rogue'.*controls_run = True"):
        rogue.run(RunSteps(5), RunConfig(workers=0))

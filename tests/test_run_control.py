"""Models that ask the runtime to pause or stop must say so (``controls_run = True``).
(A stop or pause asked by a model, on every placement: test_behaviour.py.)"""
import pytest

from lava_lite import ProcessModelError, RunConfig, RunSteps, implements
from support import Alarm, AlarmModel


def test_request_without_declaring_controls_run_is_a_clear_error():
    class Rogue(Alarm):
        pass

    @implements(proc=Rogue)
    class RogueModel(AlarmModel):
        controls_run = False

    rogue = Rogue(at=2, name="rogue")
    with pytest.raises(ProcessModelError, match="(?s)'rogue'.*controls_run = True"):
        rogue.run(RunSteps(5), RunConfig(workers=0))

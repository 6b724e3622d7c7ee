"""RefPort/VarPort: remote Var access in management phases, its timing, and its refusals."""
import numpy as np
import pytest

from lava_lite import (CompileError, InPort, InPortType, LoihiProcessModel, Process,
                       ProcessModelError, RefPort, RefPortType, RunConfig, RunSteps, Var,
                       VarPort, VarPortType, VarType, implements)
from lava_lite.proc_lib import LIF, Dense, SourceRingBuffer
from lava_lite.compiler import compile_graph
from support import StepCounter


class Reader(Process):
    """Reads its target every step in pre-management; writes 100 at ``write_at``."""

    def __init__(self, *, steps, write_at=0, name=None):
        super().__init__(name=name)
        self.ref = RefPort((3,))
        self.seen = Var((steps, 3), init=-1)
        self.proc_params["write_at"] = write_at


@implements(proc=Reader)
class ReaderModel(LoihiProcessModel):
    ref = RefPortType(np.float64)
    seen = VarType(np.float64)

    def pre_guard(self):
        return True

    def run_pre_mgmt(self):
        self.seen[self.time_step - 1] = self.ref.read()
        if self.time_step == self.proc_params["write_at"]:
            self.ref.write(np.full(3, 100.0))


@pytest.mark.placements("in_process", "one_worker", "per_process")
@pytest.mark.parametrize("explicit", [False, True])
def test_read_sees_this_step_and_write_is_seen_before_the_next_spike_phase(placement,
                                                                            explicit):
    counter = StepCounter(explicit_port=explicit, name="counter")
    reader = Reader(steps=8, write_at=5, name="reader")
    if explicit:
        reader.ref.connect(counter.count_port)
    else:
        reader.ref.connect_var(counter.count)
    with reader:
        reader.run(RunSteps(8), placement.run_cfg())
        seen = reader.seen.get()[:, 0]
        assert counter.count.get()[0] == 103
    # steps 1..5 read t (after the owner's spike phase); the write of 100 at step 5 is
    # incremented by the spike phases of steps 6, 7, 8.
    np.testing.assert_array_equal(seen, [1, 2, 3, 4, 5, 101, 102, 103])


def test_run_in_pieces_keeps_reads_in_step():
    counter, reader = StepCounter(), Reader(steps=6)
    reader.ref.connect_var(counter.count)
    with reader:
        for _ in range(3):
            reader.run(RunSteps(2), RunConfig(workers="per_process"))
        np.testing.assert_array_equal(reader.seen.get()[:, 1], [1, 2, 3, 4, 5, 6])


def test_ref_port_to_own_var_is_refused():
    class SelfReader(Process):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.x = Var((3,))
            self.ref = RefPort((3,))

    @implements(proc=SelfReader)
    class SelfReaderModel(LoihiProcessModel):
        x = VarType(np.float64)
        ref = RefPortType(np.float64)
        x_port = VarPortType(np.float64)

    me = SelfReader(name="me")
    me.x_port = VarPort(me.x)
    me.ref.connect(me.x_port)
    with pytest.raises(CompileError, match="RefPort 'ref' of Process 'me' targets Var 'x' "
                                           "of its own Process"):
        compile_graph(me, RunConfig())


def test_ref_port_to_non_shareable_var_is_refused():
    counter, reader = StepCounter(shareable=False, name="private"), Reader(steps=2, name="r")
    reader.ref.connect_var(counter.count)
    with pytest.raises(CompileError, match="'private', which is not shareable"):
        compile_graph(reader, RunConfig())


def test_ref_port_shape_must_match_the_var():
    counter = StepCounter()
    ref = RefPort((4,))
    with pytest.raises(ValueError, match="shapes differ"):
        ref.connect_var(counter.count)


def test_ref_access_outside_management_is_an_error():
    class EagerReader(Reader):
        pass

    @implements(proc=EagerReader)
    class EagerReaderModel(LoihiProcessModel):
        ref = RefPortType(np.float64)
        seen = VarType(np.float64)

        def run_spk(self):
            self.ref.read()

    counter, reader = StepCounter(), EagerReader(steps=2, name="eager")
    reader.ref.connect_var(counter.count)
    with pytest.raises(ProcessModelError, match=r"(?s)'eager'.*run_spk.*only in management"):
        reader.run(RunSteps(2), RunConfig(workers=1))


class Doubler(Process):
    """Owns ``x``; doubles it in ``phase`` ('pre' or 'post') management each step."""

    def __init__(self, *, phase, name=None):
        super().__init__(name=name)
        self.x = Var((1,), init=1)
        self.proc_params["phase"] = phase


@implements(proc=Doubler)
class DoublerModel(LoihiProcessModel):
    x = VarType(np.float64)

    def pre_guard(self):
        return self.proc_params["phase"] == "pre"

    def run_pre_mgmt(self):
        self.x *= 2

    def post_guard(self):
        return self.proc_params["phase"] == "post"

    def run_post_mgmt(self):
        self.x *= 2


class Adder(Process):
    """Adds 1 to its target in pre-management, through a RefPort."""

    def __init__(self, name=None):
        super().__init__(name=name)
        self.ref = RefPort((1,))


@implements(proc=Adder)
class AdderModel(LoihiProcessModel):
    ref = RefPortType(np.float64)

    def pre_guard(self):
        return True

    def run_pre_mgmt(self):
        self.ref.write(self.ref.read() + 1)


@pytest.mark.placements("in_process", "one_worker", "per_process")
@pytest.mark.parametrize("phase", ["pre", "post"])
def test_ref_accesses_land_in_the_same_order_on_every_placement(placement, phase):
    results = {}
    # Created in both orders, so schedule order cannot be what decides.
    for adder_first in (False, True):
        adder = Adder() if adder_first else None
        doubler = Doubler(phase=phase)
        adder = adder or Adder()
        adder.ref.connect_var(doubler.x)
        with doubler:
            doubler.run(RunSteps(4), placement.run_cfg())
            results[adder_first] = doubler.x.get()[0]
    # In each phase the owner runs first: pre: x = 2x + 1; post: x = 2(x + 1).
    expected = {"pre": 31.0, "post": 46.0}[phase]
    assert set(results.values()) == {expected}, results


class ThresholdTuner(Process):
    """Every ``window`` steps scales the threshold of the LIF sending to ``s_in``."""

    def __init__(self, *, shape, window, name=None):
        super().__init__(name=name)
        self.s_in = InPort(shape)
        self.vth_ref = RefPort((1,))
        self.proc_params["window"] = window


@implements(proc=ThresholdTuner)
class ThresholdTunerModel(LoihiProcessModel):
    s_in = InPortType(np.float64)
    vth_ref = RefPortType(np.float64)

    def post_guard(self):
        return self.time_step % self.proc_params["window"] == 0

    def run_post_mgmt(self):
        self.vth_ref.write(self.vth_ref.read() * 1.1)


@pytest.mark.placements("in_process", "one_worker", "per_process")
def test_owner_with_delayed_input_and_a_periodic_remote_tuner(placement):
    source = SourceRingBuffer(data=np.ones((20, 5)))
    dense = Dense(weights=np.full((10, 20), 0.05))
    lif = LIF(shape=(10,), du=0.2, dv=0.1, vth=0.3)
    tuner = ThresholdTuner(shape=(10,), window=5)
    source.s_out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    lif.s_out.connect(tuner.s_in)
    tuner.vth_ref.connect_var(lif.vth)
    with lif:
        lif.run(RunSteps(30), placement.run_cfg(timeout=10))
        final = round(float(lif.vth.get()[0]), 12)
    assert final == round(0.3 * 1.1 ** 6, 12)

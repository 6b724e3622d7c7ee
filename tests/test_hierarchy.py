"""Hierarchical Processes: SubProcessModels, Var aliases, nesting, model choice."""
import numpy as np
import pytest

from lava_lite import (CompileError, InPort, InPortType, LoihiProcessModel, OutPort,
                       OutPortType, Process, RefPort, RefPortType, RunConfig, RunStateError,
                       RunSteps, SubProcessModel, Var, VarType, implements, tag)
from lava_lite.compiler import compile_graph
from lava_lite.proc_lib import LIF, Dense, Monitor, SinkRingBuffer, SourceRingBuffer
from support import StepCounter

LIF_PARAMS = dict(du=0.5, dv=0.3, vth=1.0)


class Layer(Process):
    """Dense synapses into LIF neurons, as one Process."""

    def __init__(self, *, weights, name=None):
        super().__init__(name=name)
        n_out, n_in = np.shape(weights)
        self.s_in = InPort((n_in,))
        self.s_out = OutPort((n_out,))
        self.v = Var((n_out,), init=0.0)
        self.weights = Var((n_out, n_in), init=weights)


@implements(proc=Layer)
class LayerModel(SubProcessModel):
    def __init__(self, proc):
        self.dense = Dense(weights=proc.weights.init)
        self.lif = LIF(shape=proc.v.shape, v=proc.v.init, **LIF_PARAMS)
        proc.s_in.connect(self.dense.s_in)
        self.dense.a_out.connect(self.lif.a_in)
        self.lif.s_out.connect(proc.s_out)
        proc.v.alias(self.lif.v)
        proc.weights.alias(self.dense.weights)


class Net(Process):
    """Two Layers in sequence; its input is 2-D and flattened on the way in, and its output
    is also given as a (2, n/2) grid."""

    def __init__(self, *, w1, w2, in_shape, name=None):
        super().__init__(name=name)
        n_out = np.shape(w2)[0]
        self.s_in = InPort(in_shape)
        self.s_out = OutPort((n_out,))
        self.s_grid = OutPort((2, n_out // 2))
        self.v1 = Var((np.shape(w1)[0],))
        self.v2 = Var((np.shape(w2)[0],))
        self.note = Var((1,))  # not aliased: no live value
        self.proc_params.update(w1=np.asarray(w1).tolist(), w2=np.asarray(w2).tolist())


@implements(proc=Net)
class NetModel(SubProcessModel):
    def __init__(self, proc):
        self.layer1 = Layer(weights=np.array(proc.proc_params["w1"]))
        self.layer2 = Layer(weights=np.array(proc.proc_params["w2"]))
        proc.s_in.flatten().connect(self.layer1.s_in)  # a transform across the boundary
        self.layer1.s_out.connect(self.layer2.s_in)
        self.layer2.s_out.connect(proc.s_out)
        self.layer2.s_out.connect(proc.s_grid.reshape((proc.s_out.shape[0],)))
        proc.v1.alias(self.layer1.v)  # net.v1 -> layer1.v -> lif.v
        proc.v2.alias(self.layer2.v)


def _inputs(steps):
    rng = np.random.default_rng(7)
    spikes = (rng.random((2, 5, steps)) < 0.4).astype(float)
    w1 = rng.uniform(0.0, 0.15, (6, 10))
    w2 = rng.uniform(0.0, 0.5, (4, 6))
    return spikes, w1, w2


def _run_and_record(source, monitor, sink, grid, out_owner, v1, v2, placement, steps):
    """Run, read v1, set it, run again; returns everything the two networks must agree on."""
    cfg = placement.run_cfg(select_tag="floating_pt")
    with source:
        source.run(RunSteps(steps // 2), cfg)
        first_v1 = v1.get()
        v1.set(np.linspace(0.0, 0.9, v1.shape[0]))
        source.run(RunSteps(steps - steps // 2), cfg)
        result = dict(first_v1=first_v1, v1=v1.get(), v2=v2.get(), sink=sink.data.get(),
                      grid=grid.data.get(), probed=monitor.get_data()[out_owner])
    return result


@pytest.mark.placements("in_process", "one_worker", "per_process")
def test_two_level_hierarchy_matches_the_flat_network(placement):
    steps = 12
    spikes, w1, w2 = _inputs(steps)

    source = SourceRingBuffer(data=spikes, name="source")
    net = Net(w1=w1, w2=w2, in_shape=(2, 5), name="net")
    sink = SinkRingBuffer(shape=(4,), buffer=steps, name="sink")
    source.s_out.connect(net.s_in)
    net.s_out.connect(sink.a_in)
    grid = SinkRingBuffer(shape=(2, 2), buffer=steps, name="grid")
    net.s_grid.connect(grid.a_in)
    monitor = Monitor(name="monitor")
    monitor.probe(net.v2, steps)
    monitor.probe(net.s_out, steps)
    hierarchical = _run_and_record(source, monitor, sink, grid, "net", net.v1, net.v2,
                                   placement, steps)

    flat_source = SourceRingBuffer(data=spikes, name="flat_source")
    dense1, lif1 = Dense(weights=w1), LIF(shape=(6,), **LIF_PARAMS)
    dense2, lif2 = Dense(weights=w2), LIF(shape=(4,), **LIF_PARAMS)
    flat_sink = SinkRingBuffer(shape=(4,), buffer=steps)
    flat_source.s_out.flatten().connect(dense1.s_in)
    dense1.a_out.connect(lif1.a_in)
    lif1.s_out.connect(dense2.s_in)
    dense2.a_out.connect(lif2.a_in)
    lif2.s_out.connect(flat_sink.a_in)
    flat_grid = SinkRingBuffer(shape=(2, 2), buffer=steps)
    lif2.s_out.reshape((2, 2)).connect(flat_grid.a_in)
    flat_monitor = Monitor()
    flat_monitor.probe(lif2.v, steps)
    flat_monitor.probe(lif2.s_out, steps)
    flat = _run_and_record(flat_source, flat_monitor, flat_sink, flat_grid, lif2.name,
                           lif1.v, lif2.v, placement, steps)

    assert flat["sink"].sum() > 0, "the network should spike for the comparison to mean much"
    assert not np.array_equal(flat["first_v1"], flat["v1"])
    np.testing.assert_array_equal(flat["grid"], flat["sink"].reshape(2, 2, steps))
    for key in ("first_v1", "v1", "v2", "sink", "grid"):
        np.testing.assert_array_equal(hierarchical[key], flat[key], err_msg=key)
    np.testing.assert_array_equal(hierarchical["probed"]["v2"], flat["probed"]["v"])
    np.testing.assert_array_equal(hierarchical["probed"]["s_out"], flat["probed"]["s_out"])


def test_plan_holds_only_leaves_named_by_their_place_in_the_hierarchy():
    spikes, w1, w2 = _inputs(4)
    source = SourceRingBuffer(data=spikes, name="source")
    net = Net(w1=w1, w2=w2, in_shape=(2, 5), name="net")
    sink = SinkRingBuffer(shape=(4,), buffer=4, name="sink")
    source.s_out.connect(net.s_in)
    net.s_out.connect(sink.a_in)
    net.v2.set(0.25)  # before the SubProcessModels ran: passed down the alias chain
    compiled = compile_graph(source, RunConfig(select_tag="floating_pt"))
    plan = compiled.plan
    lif2 = next(p for p in plan.processes if p.name == "net.layer2.lif")
    np.testing.assert_array_equal(next(v for v in lif2.vars if v.name == "v").init,
                                  np.full(4, 0.25))
    assert [p.name for p in plan.processes] == [
        "source", "net.layer1.dense", "net.layer1.lif", "net.layer2.dense", "net.layer2.lif",
        "sink"]
    assert {p.process_class.rsplit(":")[-1] for p in plan.processes} == {
        "SourceRingBuffer", "Dense", "LIF", "SinkRingBuffer"}
    assert {p.name for p in compiled.graph} >= {"net", "net.layer1", "net.layer2"}
    edges = {(plan.processes[c.src].name, plan.processes[c.dst].name): c for c in plan.channels}
    assert set(edges) == {("source", "net.layer1.dense"),
                          ("net.layer1.dense", "net.layer1.lif"),
                          ("net.layer1.lif", "net.layer2.dense"),
                          ("net.layer2.dense", "net.layer2.lif"), ("net.layer2.lif", "sink")}
    assert edges[("source", "net.layer1.dense")].transform == (
        {"op": "reshape", "shape": [10]},)
    lif = next(p for p in plan.processes if p.name == "net.layer2.lif")
    assert "inside net (Net via NetModel" in lif.model_choice
    assert "> net.layer2 (Layer via LayerModel" in lif.model_choice
    assert "inside net (Net via NetModel" in plan.summary()
    # Before any run, aliases reach the children's initial values.
    np.testing.assert_array_equal(net.v1.get(), np.zeros(6))
    net.v1.set(0.5)
    # Compiling again reuses what the SubProcessModels built (and sees the new value).
    again = compile_graph(sink, RunConfig(select_tag="floating_pt")).plan
    assert [p.name for p in again.processes] == [p.name for p in plan.processes]
    lif1 = next(p for p in again.processes if p.name == "net.layer1.lif")
    np.testing.assert_array_equal(next(v for v in lif1.vars if v.name == "v").init,
                                  np.full(6, 0.5))
    # A parent's OutPort fed through a transform cannot be probed: probe the child's.
    Monitor(name="watch").probe(net.s_grid, 4)
    with pytest.raises(CompileError, match=r"watch probes net\.s_grid.*not fed by exactly one "
                                           r"sub-Process OutPort without a transform"):
        compile_graph(sink, RunConfig(select_tag="floating_pt"))


class Scale(Process):
    def __init__(self, *, shape=(3,), name=None):
        super().__init__(name=name)
        self.a_in = InPort(shape)
        self.s_out = OutPort(shape)
        self.factor = Var((1,), init=3.0)


@implements(proc=Scale)
@tag("floating_pt")
class ScaleLeaf(LoihiProcessModel):
    a_in = InPortType(np.float64)
    s_out = OutPortType(np.float64)
    factor = VarType(np.float64)

    def run_spk(self):
        self.s_out.send(self.a_in.recv() * self.factor)


@implements(proc=Scale)
@tag("by_synapses")
class ScaleBySynapses(SubProcessModel):
    """The same scaling, by a Dense with factor * identity weights (one step later)."""

    def __init__(self, proc):
        n = proc.a_in.shape[0]
        self.dense = Dense(weights=np.eye(n) * proc.factor.init[0], num_message_bits=16)
        proc.a_in.connect(self.dense.s_in)
        self.dense.a_out.connect(proc.s_out)


@implements(proc=Scale)
@tag("floating_pt")
class ScaleInTwoHops(SubProcessModel):
    """The same scaling through two Dense (two steps later)."""

    def __init__(self, proc):
        n = proc.a_in.shape[0]
        self.first = Dense(weights=np.eye(n) * proc.factor.init[0], num_message_bits=16)
        self.second = Dense(weights=np.eye(n), num_message_bits=16)
        proc.a_in.connect(self.first.s_in)
        self.first.a_out.connect(self.second.s_in)
        self.second.a_out.connect(proc.s_out)


def _scale_graph():
    source = SourceRingBuffer(data=np.ones((3, 4)), name="src")
    scale = Scale(name="scale")
    sink = SinkRingBuffer(shape=(3,), buffer=4, name="out")
    source.s_out.connect(scale.a_in)
    scale.s_out.connect(sink.a_in)
    return source, scale, sink


def test_select_sub_proc_model_prefers_the_sub_process_model():
    source, scale, _ = _scale_graph()
    plan = compile_graph(source, RunConfig()).plan
    chosen = {p.name: p for p in plan.processes}
    assert chosen["scale"].model.endswith("ScaleLeaf")
    assert "leaf models are preferred" in chosen["scale"].model_choice
    plan = compile_graph(source, RunConfig(select_sub_proc_model=True)).plan
    names = [p.name for p in plan.processes]
    assert names == ["src", "scale.dense", "out"] and "scale" not in names
    assert "select_sub_proc_model=True" in plan.processes[1].model_choice
    # Back to the leaf model: what the SubProcessModel connected is taken back.
    plan = compile_graph(source, RunConfig(select_sub_proc_model=False)).plan
    assert [p.name for p in plan.processes] == ["src", "scale", "out"]
    assert scale.a_in.out_connections == []
    # Tags and exception_proc_model_map choose among SubProcessModels too.
    plan = compile_graph(source, RunConfig(select_sub_proc_model=True,
                                           select_tag="floating_pt")).plan
    assert [p.name for p in plan.processes] == ["src", "scale.first", "scale.second", "out"]
    assert "SubProcessModel tagged 'floating_pt'" in plan.processes[1].model_choice
    plan = compile_graph(source, RunConfig(exception_proc_model_map={
        scale: ScaleBySynapses})).plan
    assert "scale.dense" in [p.name for p in plan.processes]


@pytest.mark.placements("in_process", "one_worker", "per_process")
def test_sub_process_model_runs_and_unaliased_var_has_no_live_value(placement):
    source, scale, sink = _scale_graph()
    with source:
        source.run(RunSteps(4), placement.run_cfg(select_sub_proc_model=True))
        np.testing.assert_array_equal(sink.data.get(), [[0, 3, 3, 3]] * 3)
        with pytest.raises(RunStateError, match=r"scale\.factor has no live value"):
            scale.factor.get()


def test_alias_and_hierarchy_errors():
    layer = Layer(weights=np.ones((2, 3)), name="layer")
    lif = LIF(shape=(3,), name="wide")
    with pytest.raises(ValueError, match=r"cannot alias layer\.v \(shape \(2,\)\) to "
                                         r"wide\.v \(shape \(3,\)\)"):
        layer.v.alias(lif.v)

    class Loose(Process):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.x = Var((3,))

    outsider = LIF(shape=(3,), name="outsider")

    @implements(proc=Loose)
    class LooseModel(SubProcessModel):
        def __init__(self, proc):
            self.lif = LIF(shape=(3,))
            proc.x.alias(outsider.v)

    with pytest.raises(CompileError, match=r"Var 'x' of 'loose' is aliased to outsider\.v, "
                                           r"which is not a Var of one of its sub-Processes"):
        compile_graph(Loose(name="loose"), RunConfig())

    class Russian(Process):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.a_in = InPort((1,))

    @implements(proc=Russian)
    class RussianModel(SubProcessModel):
        def __init__(self, proc):
            self.inner = Russian()
            proc.a_in.connect(self.inner.a_in)

    with pytest.raises(CompileError, match="nest more than 64 levels"):
        compile_graph(Russian(name="doll"), RunConfig())


class Tally(Process):
    """Hierarchical: its ``count`` is the count of an inner StepCounter."""

    def __init__(self, *, name=None):
        super().__init__(name=name)
        self.count = Var((2,), init=0)


@implements(proc=Tally)
class TallyModel(SubProcessModel):
    def __init__(self, proc):
        self.counter = StepCounter(shape=(2,))
        proc.count.alias(self.counter.count)


class Peek(Process):
    def __init__(self, *, steps, name=None):
        super().__init__(name=name)
        self.ref = RefPort((2,))
        self.seen = Var((steps,), init=-1)


@implements(proc=Peek)
class PeekModel(LoihiProcessModel):
    ref = RefPortType(np.int64)
    seen = VarType(np.int64)

    def pre_guard(self):
        return True

    def run_pre_mgmt(self):
        self.seen[self.time_step - 1] = self.ref.read()[0]


@pytest.mark.placements("in_process", "one_worker", "per_process")
def test_ref_port_to_an_aliased_var_reaches_the_child(placement):
    tally, peek = Tally(name="tally"), Peek(steps=4, name="peek")
    peek.ref.connect_var(tally.count)
    with peek:
        peek.run(RunSteps(4), placement.run_cfg())
        np.testing.assert_array_equal(peek.seen.get(), [1, 2, 3, 4])
        assert [p.name for p in peek._session.plan.processes] == ["tally.counter", "peek"]

"""Frontend API: Processes, ports, Vars, model selection, the compiled plan, and the
registry snapshot that keeps the models a test defines from leaking into others."""
import importlib.util
import json
import traceback

import numpy as np
import pytest

from lava_lite import (CPU, AsyncProtocol, CompileError, InPort, InPortType, LoihiProcessModel,
                       LoihiProtocol, OutPort, OutPortType, Process, RunConfig, RunContinuous,
                       RunSteps, Var, VarType, implements, requires, tag)
from lava_lite.compiler import compile_graph
from lava_lite.model import REGISTRY
from lava_lite.plan import Plan
from lava_lite.proc_lib import LIF, Dense, SinkRingBuffer, SourceRingBuffer
from support import registry_snapshot


class Counter(Process):
    def __init__(self, *, shape=(2,), start=0, name=None):
        super().__init__(name=name)
        self.out = OutPort(shape)
        self.count = Var(shape, init=start)


@implements(proc=Counter)
@requires(CPU)
@tag("floating_pt", "counting")
class CounterModel(LoihiProcessModel):
    out = OutPortType(np.float64)
    count = VarType(np.int32)

    def run_spk(self):
        self.count += 1
        self.out.send(self.count)


def test_members_get_their_attribute_names_and_process():
    lif = LIF(shape=(3,), name="pop")
    assert lif.name == "pop"
    assert lif.u.name == "u" and lif.u.process is lif
    assert lif.a_in.qualified_name == "pop.a_in"
    assert set(lif.members) >= {"a_in", "s_out", "u", "v", "du", "dv", "vth"}


def test_default_names_are_unique_and_explain_the_class():
    a, b = LIF(shape=1), LIF(shape=1)
    assert a.name != b.name and a.name.startswith("LIF_")


def test_unknown_keyword_names_process_and_key():
    with pytest.raises(TypeError, match=r"LIF: unknown parameter 'tau'.*accepted: .*shape"):
        LIF(shape=(2,), tau=3)
    with pytest.raises(TypeError, match=r"Counter: unknown parameter 'bogus'"):
        Counter(bogus=1)


def test_members_before_super_init_is_a_clear_error():
    class Broken(Process):
        def __init__(self):
            self.x = Var((1,))

    with pytest.raises(RuntimeError, match="call super"):
        Broken()


def test_connecting_different_shapes_names_both_ports():
    src = SourceRingBuffer(data=np.zeros((3, 4)), name="src")
    sink = SinkRingBuffer(shape=(4,), buffer=2, name="sink")
    with pytest.raises(ValueError, match=r"src\.s_out \(shape \(3,\)\).*sink\.a_in "
                                         r"\(shape \(4,\)\)"):
        src.s_out.connect(sink.a_in)


def test_connect_rejects_wrong_port_kinds_and_duplicates():
    src = SourceRingBuffer(data=np.zeros((2, 4)))
    sink = SinkRingBuffer(shape=(2,), buffer=2)
    with pytest.raises(TypeError):
        src.s_out.connect(sink.data)
    src.s_out.connect(sink.a_in)
    with pytest.raises(ValueError, match="already connected"):
        sink.a_in.connect_from(src.s_out)


def test_var_get_and_set_before_run():
    lif = LIF(shape=(3,), v=1.5)
    assert np.array_equal(lif.v.get(), [1.5, 1.5, 1.5])
    lif.v.set([1, 2, 3])
    assert np.array_equal(lif.v.get(), [1, 2, 3])
    lif.v.set(9, idx=1)
    assert lif.v.get(idx=1) == 9
    with pytest.raises(ValueError, match=r"LIF_\d+\.v: cannot set a value of shape \(2,\)"):
        lif.v.set([1, 2])
    with pytest.raises(IndexError, match=r"LIF_\d+\.v: bad index"):
        lif.v.get(idx=7)


def test_var_init_must_fit_shape():
    with pytest.raises(ValueError, match="does not fit"):
        Var((3,), init=[1, 2])


def test_a_bad_init_inside_a_process_names_the_process_once():
    with pytest.raises(ValueError) as info:
        Counter(shape=(3,), start=[1, 2], name="tally")
    assert str(info.value).startswith("Process 'tally' (Counter): Var init of shape (2,)")

    class Pair(Process):
        def __init__(self, *, name=None):
            super().__init__(name=name)
            self.inner = Counter(shape=(3,), start=[1, 2], name="inner")

    with pytest.raises(ValueError) as info:
        Pair(name="outer")
    assert str(info.value).count("Process '") == 1 and "'inner'" in str(info.value)


def _helper_with_a_typo():
    return np.zeros(3, dtyp=float)


def test_an_error_while_building_a_process_keeps_its_traceback_and_names_it_once():
    class Buggy(Process):
        def __init__(self, *, name=None):
            super().__init__(name=name)
            _helper_with_a_typo()

    with pytest.raises(TypeError) as info:
        Buggy(name="buggy")
    assert str(info.value).startswith("Process 'buggy' (Buggy): ")
    assert "_helper_with_a_typo" in "".join(traceback.format_exception(info.value))
    with pytest.raises(ValueError) as info:
        Dense(weights=np.zeros(3), name="flat")  # Dense's own message names it already
    assert str(info.value).count("flat") == 1


def test_declared_protocol_must_match_the_model_base():
    with pytest.raises(TypeError, match="declared protocol=AsyncProtocol, but it is a "
                                        "LoihiProcessModel"):
        @implements(proc=Counter, protocol=AsyncProtocol)
        class WrongProtocol(LoihiProcessModel):
            pass
    with pytest.raises(TypeError, match="takes LoihiProtocol or AsyncProtocol"):
        implements(proc=Counter, protocol=object)
    assert CounterModel.implements_protocol is LoihiProtocol


def test_run_conditions_validate():
    with pytest.raises(ValueError, match="at least 1"):
        RunSteps(0)
    with pytest.raises(ValueError):
        RunSteps(-3)
    with pytest.raises(TypeError):
        RunSteps(2.5)
    assert RunContinuous().blocking is False


def test_run_config_validates():
    with pytest.raises(ValueError, match="workers"):
        RunConfig(workers=-1)
    with pytest.raises(ValueError, match="workers"):
        RunConfig(workers="many")
    with pytest.raises(TypeError, match="select_tag"):
        RunConfig(select_tag=3)


def test_missing_tag_names_process_tag_and_available_tags():
    counter = Counter(name="ctr")
    with pytest.raises(CompileError, match=r"'ctr'.*'no_such'.*\['counting', 'floating_pt'\]"):
        compile_graph(counter, RunConfig(select_tag="no_such"))


def test_process_without_model_is_a_compile_error():
    class Lonely(Process):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.x = Var((1,))

    with pytest.raises(CompileError, match="'solo'.*no registered ProcessModel"):
        compile_graph(Lonely(name="solo"), RunConfig())


def test_exception_map_wins_over_tag_by_instance_and_class():
    @implements(proc=Counter)
    @tag("floating_pt")
    class OtherCounterModel(CounterModel):
        pass

    special, plain = Counter(name="special"), Counter(name="plain")
    special.out.connect(Dense(weights=np.ones((1, 2))).s_in)
    plain.out.connect(Dense(weights=np.ones((1, 2))).s_in)
    plan = compile_graph(special, RunConfig(
        select_tag="floating_pt", exception_proc_model_map={special: OtherCounterModel})).plan
    chosen = {p.name: p for p in plan.processes}
    assert chosen["special"].model.endswith("OtherCounterModel")
    assert "instance" in chosen["special"].model_choice
    plan = compile_graph(plain, RunConfig(exception_proc_model_map={Counter: OtherCounterModel}))
    assert plan.plan.processes[0].model.endswith("OtherCounterModel")


def test_model_must_declare_every_member():
    class Partial(Process):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.a = Var((1,))
            self.b = Var((1,))

    @implements(proc=Partial)
    class PartialModel(LoihiProcessModel):
        a = VarType(float)

    with pytest.raises(CompileError, match="PartialModel.*'p'.*Var 'b'"):
        compile_graph(Partial(name="p"), RunConfig())


def test_compile_gives_the_plan_without_running():
    src = SourceRingBuffer(data=np.eye(3))
    sink = SinkRingBuffer(shape=(3,), buffer=3)
    src.s_out.connect(sink.a_in)
    plan = sink.compile(RunConfig(workers=0))
    assert [p.name for p in plan.processes] == [src.name, sink.name]
    assert src.current_step == 0
    with src:
        src.run(RunSteps(2), RunConfig(workers=0))
        assert src.compile() is src._session.plan and sink.current_step == 2
    assert sink.current_step == 2  # still known after stop


def test_plan_is_json_serialisable_and_round_trips():
    src = SourceRingBuffer(data=np.eye(3))
    dense = Dense(weights=np.arange(6.0).reshape(2, 3))
    src.s_out.connect(dense.s_in)
    plan = compile_graph(src, RunConfig(workers=2)).plan
    text = plan.model_dump_json()
    assert json.loads(text)["num_workers"] == 2
    again = Plan.model_validate_json(text)
    assert np.array_equal(again.processes[1].vars[0].init, dense.weights.init)
    assert "s_out -> Dense" in plan.summary() and "PyDenseFloat" in plan.summary()


def test_zero_delay_loop_is_refused_with_names():
    a, b = LIF(shape=(2,), name="a"), LIF(shape=(2,), name="b")
    a.s_out.connect(b.a_in)
    b.s_out.connect(a.a_in)
    with pytest.raises(CompileError, match=r"loop with no delayed connection.*'a', 'b'"):
        compile_graph(a, RunConfig())


def test_graph_is_walked_from_any_process_and_placement_follows_config():
    src = SourceRingBuffer(data=np.zeros((2, 3)))
    dense = Dense(weights=np.ones((2, 2)))
    lif = LIF(shape=(2,))
    src.s_out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    for start in (src, dense, lif):
        assert len(compile_graph(start, RunConfig()).plan.processes) == 3
    per_process = compile_graph(lif, RunConfig(workers="per_process")).plan
    assert sorted(p.worker for p in per_process.processes) == [0, 1, 2]
    packed = compile_graph(lif, RunConfig(workers=1)).plan
    assert {p.worker for p in packed.processes} == {0}
    assert compile_graph(lif, RunConfig(workers=0)).plan.runtime == "in_process"


def test_per_process_seeds_do_not_depend_on_placement():
    src = SourceRingBuffer(data=np.zeros((2, 3)))
    lif = LIF(shape=(2,))
    src.s_out.connect(lif.a_in)
    seeds = [[p.seed for p in compile_graph(src, RunConfig(seed=5, workers=w)).plan.processes]
             for w in (0, 1, "per_process")]
    assert seeds[0] == seeds[1] == seeds[2]
    other = [p.seed for p in compile_graph(src, RunConfig(seed=6)).plan.processes]
    assert other != seeds[0]


def test_unconnected_required_in_port_is_refused():
    class Needy(Process):
        def __init__(self, name=None):
            super().__init__(name=name)
            self.a_in = InPort((2,))

    @implements(proc=Needy)
    class NeedyModel(LoihiProcessModel):
        a_in = InPortType(np.float64, required=True)

    with pytest.raises(CompileError, match="InPort 'a_in' of Process 'needy' is not connected"):
        compile_graph(Needy(name="needy"), RunConfig())


def test_one_compile_reports_every_process_at_fault():
    class Orphan(Process):
        def __init__(self, *, name=None):
            super().__init__(name=name)
            self.a_in = InPort((2,))

    src = SourceRingBuffer(data=np.zeros((2, 3)), name="src")
    lost_a, lost_b = Orphan(name="lost_a"), Orphan(name="lost_b")
    src.s_out.connect(lost_a.a_in)
    src.s_out.connect(lost_b.a_in)
    with pytest.raises(CompileError) as info:
        compile_graph(src, RunConfig())
    text = str(info.value)
    assert text.startswith("2 problems:") and "'lost_a'" in text and "'lost_b'" in text

    fixed_src = SourceRingBuffer(data=np.zeros((2, 3), np.int32), name="fixed_src")
    good, bad_du, bad_vth = (LIF(shape=(2,), name="good"), LIF(shape=(2,), du=9000, name="bad_du"),
                             LIF(shape=(2,), vth=-1, name="bad_vth"))
    for lif in (good, bad_du, bad_vth):
        fixed_src.s_out.connect(lif.a_in)
    with pytest.raises(CompileError) as info:
        compile_graph(fixed_src, RunConfig(select_tag="fixed_pt"))
    text = str(info.value)
    assert text.startswith("2 problems:") and "'bad_du'" in text and "'bad_vth'" in text
    assert "'good'" not in text


def test_integer_model_refuses_non_integer_and_out_of_range_values():
    class Small(Process):
        def __init__(self, value, name=None):
            super().__init__(name=name)
            self.x = Var((2,), init=value)

    @implements(proc=Small)
    class SmallModel(LoihiProcessModel):
        x = VarType(np.int32, precision=8)

    with pytest.raises(CompileError, match=r"'s1', Var 'x': value 0\.5 is not an integer; "
                                           r"allowed: integers in \[-128, 127\]"):
        compile_graph(Small(0.5, name="s1"), RunConfig())
    with pytest.raises(CompileError, match=r"'s2', Var 'x': value 300 does not fit; allowed: "
                                           r"integers in \[-128, 127\] \(8-bit int32\)"):
        compile_graph(Small(300, name="s2"), RunConfig())
    small = Small(1, name="s3")
    with small:
        small.run(RunSteps(1), RunConfig(workers=0))
        with pytest.raises(CompileError, match=r"'s3', Var 'x': value 200 does not fit"):
            small.x.set([1, 200])
        with pytest.raises(CompileError, match=r"value 0\.7 is not an integer"):
            small.x.set([0.7, 1])
        assert np.array_equal(small.x.get(), [1, 1])  # the refused set changed nothing


def test_placement_cuts_at_delayed_connections_when_balance_allows():
    # source -> lif1 -> dense -> lif2 -> sink: only dense's output is delayed. Costs make the
    # balanced cut fall before dense; the clean cut (after dense) is within the slack.
    src = SourceRingBuffer(data=np.zeros((50, 2)), name="src")
    lif1 = LIF(shape=(50,), name="lif1")
    dense = Dense(weights=np.zeros((50, 50)), name="dense")
    lif2 = LIF(shape=(50,), name="lif2")
    sink = SinkRingBuffer(shape=(50,), buffer=2, name="sink")
    src.s_out.connect(lif1.a_in)
    lif1.s_out.connect(dense.s_in)
    dense.a_out.connect(lif2.a_in)
    lif2.s_out.connect(sink.a_in)
    plan = compile_graph(src, RunConfig(workers=2)).plan
    worker = {p.name: p.worker for p in plan.processes}
    assert worker["dense"] == 0 and worker["lif2"] == 1
    crossing = [c for c in plan.channels
                if plan.processes[c.src].worker != plan.processes[c.dst].worker]
    assert crossing and all(c.delayed for c in crossing)


def test_a_cut_moves_to_a_clean_position_only_within_the_slack():
    from lava_lite.compiler.place import _chunks

    order, costs = [0, 1, 2, 3], {0: 10, 1: 10, 2: 3, 3: 17}
    assert _chunks(order, costs, 2) == {0: 0, 1: 0, 2: 1, 3: 1}  # balanced cut at 2
    assert _chunks(order, costs, 2, clean={3}) == {0: 0, 1: 0, 2: 0, 3: 1}  # 23 vs 20: near
    far = {0: 10, 1: 10, 2: 15, 3: 5}  # the clean cut at 3 would give 35 vs 5: too far
    assert _chunks(order, far, 2, clean={3}) == {0: 0, 1: 0, 2: 1, 3: 1}


def _heavy_chain(name, n=600):
    src = SourceRingBuffer(data=np.zeros((n, 2)), name=f"{name}_src")
    dense = Dense(weights=np.zeros((n, n)), name=f"{name}_dense")
    lif = LIF(shape=(n,), name=f"{name}_lif")
    src.s_out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    return src, dense, lif


def test_automatic_placement_splits_only_where_both_sides_can_work_at_once(monkeypatch):
    import lava_lite.compiler as compiler

    monkeypatch.setattr(compiler.os, "cpu_count", lambda: 2)
    # A heavy feed-forward pipeline: the cut goes at the Dense output, both sides busy.
    src, dense, lif = _heavy_chain("ff")
    second = Dense(weights=np.zeros((600, 600)), name="ff_dense2")
    lif2 = LIF(shape=(600,), name="ff_lif2")
    lif.s_out.connect(second.s_in)
    second.a_out.connect(lif2.a_in)
    plan = src.compile(RunConfig())
    assert plan.num_workers == 2
    crossing = [c for c in plan.channels
                if plan.processes[c.src].worker != plan.processes[c.dst].worker]
    assert crossing and all(c.delayed for c in crossing)
    # The same work in a loop: splitting it would only make the workers take turns.
    lif1, lif2 = LIF(shape=(600,), name="loop_lif1"), LIF(shape=(600,), name="loop_lif2")
    forward = Dense(weights=np.zeros((600, 600)), name="loop_forward")
    back = Dense(weights=np.zeros((600, 600)), name="loop_back")
    lif1.s_out.connect(forward.s_in)
    forward.a_out.connect(lif2.a_in)
    lif2.s_out.connect(back.s_in)
    back.a_out.connect(lif1.a_in)
    assert lif1.compile(RunConfig()).num_workers == 1
    assert lif1.compile(RunConfig(workers=2)).num_workers == 2  # asked for: done
    # A small network stays in one worker.
    small_src, _, _ = _heavy_chain("small", n=50)
    assert small_src.compile(RunConfig()).num_workers == 1


def test_an_in_port_of_a_model_backed_process_does_not_forward():
    src = SourceRingBuffer(data=np.zeros((2, 3)), name="src")
    a, b = LIF(shape=(2,), name="a"), LIF(shape=(2,), name="b")
    src.s_out.connect(a.a_in)
    a.a_in.connect(b.a_in)
    with pytest.raises(CompileError, match=r"a\.a_in of 'a', which runs a model, is connected "
                                           r"onward to b\.a_in"):
        src.compile(RunConfig())


LAZY_MODULE = '''
import numpy as np
from lava_lite import LoihiProcessModel, Process, Var, VarType, implements


class Lazy(Process):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.x = Var((1,))


@implements(proc=Lazy)
class LazyModel(LoihiProcessModel):
    x = VarType(np.float64)
'''


def test_models_a_test_defines_are_forgotten_when_it_ends(tmp_path):
    class Local(Process):
        pass

    path = tmp_path / "lazily_imported.py"
    path.write_text(LAZY_MODULE)
    spec = importlib.util.spec_from_file_location("lazily_imported", path)
    lazy = importlib.util.module_from_spec(spec)
    with registry_snapshot() as registry:
        @implements(proc=Local)
        class LocalModel(LoihiProcessModel):
            pass

        @implements(proc=Counter)
        @tag("counting")
        class OtherCounterModel(CounterModel):
            pass

        spec.loader.exec_module(lazy)  # a module first imported while a test runs
        assert registry.models_for(Local) == [LocalModel]
        assert registry.models_for(Counter) == [CounterModel, OtherCounterModel]
    assert REGISTRY.models_for(Local) == []
    assert REGISTRY.models_for(Counter) == [CounterModel]
    # a module's own models stay registered: the module stays imported
    assert REGISTRY.models_for(lazy.Lazy) == [lazy.LazyModel]

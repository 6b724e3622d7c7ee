"""Values and odd inputs (issue 11, cases 6 and 10): values given before a run are kept as
given and checked once, at compile time; odd inputs get clear errors naming the Process and
the member or parameter, at construction or compile time."""
import math

import numpy as np
import pytest

from lava_lite import (CompileError, InPort, LoihiProcessModel, OutPort, Process, RunConfig,
                       RunSteps, SubProcessModel, Var, VarType, implements, tag)
from lava_lite.compiler import compile_graph
from lava_lite.members import MAX_NAME_CHARS
from lava_lite.proc_lib import LIF, Dense, Monitor
from lava_lite.run_config import MAX_TIME_STEP

FLOAT = RunConfig(select_tag="floating_pt")
FIXED = RunConfig(select_tag="fixed_pt")


class Box(Process):
    """One Var ``x`` (and, if given, a proc_params entry ``p``)."""

    def __init__(self, *, x=0, dtype=None, param=None, strict_overflow=False, name=None):
        super().__init__(name=name)
        self.x = Var((2,), init=x, dtype=dtype)
        self.proc_params["strict_overflow"] = strict_overflow
        if param is not None:
            self.proc_params["p"] = param


@implements(proc=Box)
@tag("floating_pt")
class BoxFloat(LoihiProcessModel):
    x = VarType(np.float64)


@implements(proc=Box)
@tag("fixed_pt")
class BoxInt(LoihiProcessModel):
    x = VarType(np.int16, precision=12)


def _spikes_of_two_lifs(first: LIF, second: LIF, steps: int) -> tuple[np.ndarray, ...]:
    """Run ``first`` and ``second`` (joined by one Monitor) on the float model; their spikes
    and both vth read back from the live models."""
    monitor = Monitor()
    monitor.probe(first.s_out, num_steps=steps)
    monitor.probe(second.s_out, num_steps=steps)
    with first:
        first.run(RunSteps(steps), FLOAT)
        data = monitor.get_data()
        return (data[first.name]["s_out"], data[second.name]["s_out"], first.vth.get(),
                second.vth.get())


# -- case 6: values set before the first run ------------------------------------------------
def test_a_float_set_before_the_first_run_is_kept_exactly_and_runs_as_if_built_with_it():
    # v rises by the bias, 0.3 a step: with vth = 0.7 a neuron fires every third step (with
    # the old truncation to vth = 0 it fired every step).
    set_later = LIF(shape=(2,), bias_mant=0.3, name="set_later")
    built = LIF(shape=(2,), bias_mant=0.3, vth=0.7, name="built")
    set_later.vth.set([0.7])
    set_later.dv.set(0)  # an int on a float Var: fine
    assert set_later.vth.get().tolist() == [0.7]  # before the run: as given
    spikes, reference, vth, vth_reference = _spikes_of_two_lifs(set_later, built, steps=9)
    assert vth.tolist() == vth_reference.tolist() == [0.7]  # after it: from the live model
    assert np.array_equal(spikes, reference)
    assert spikes.sum(axis=0).tolist() == [3, 3]


def test_float_valued_lif_parameters_have_float_defaults():
    lif = LIF(shape=(1,))
    for name in ("u", "v", "du", "dv", "vth", "bias_mant"):
        assert getattr(lif, name).get().dtype.kind == "f", name


def test_set_of_some_elements_before_the_first_run_does_not_truncate_them():
    box = Box(x=[1, 2])
    box.x.set(0.5, idx=1)
    assert box.x.get().tolist() == [1, 0.5]


def test_a_float_set_on_an_integer_var_is_refused_at_compile_time_naming_it():
    box = Box(x=[1, 2], name="counts")
    box.x.set([0.7, 1])
    with pytest.raises(CompileError, match=r"Process 'counts', Var 'x': value 0\.7 is not an "
                                           r"integer; allowed: integers in \[-2048, 2047\]"):
        compile_graph(box, FIXED)
    lif = LIF(shape=(2,), name="fixed_lif")
    lif.vth.set([0.7])
    with pytest.raises(CompileError, match=r"Process 'fixed_lif' .*vth = 0\.7 must be an "
                                           r"integer in \[0, 131071\]"):
        compile_graph(lif, FIXED)


class Wrapped(Process):
    """A hierarchical LIF: its ``v`` stands for the child's."""

    def __init__(self, *, shape, name=None):
        super().__init__(name=name)
        self.a_in = InPort(shape)
        self.v = Var(shape)


@implements(proc=Wrapped)
class WrappedModel(SubProcessModel):
    def __init__(self, proc):
        self.lif = LIF(shape=proc.v.shape, vth=100.0)
        proc.a_in.connect(self.lif.a_in)
        proc.v.alias(self.lif.v)


def test_a_float_set_on_an_aliased_var_before_the_first_run_reaches_the_child_exactly():
    wrapped = Wrapped(shape=(2,), name="wrapped")
    wrapped.v.set([0.5, 0.25])
    assert wrapped.v.get().tolist() == [0.5, 0.25]
    with wrapped:
        wrapped.run(RunSteps(1), RunConfig(select_tag="floating_pt", workers=0))
        assert wrapped.v.get().tolist() == [0.5, 0.25]  # no input, no decay: kept


# -- case 10: object and str values, dtypes and declared types ------------------------------
@pytest.mark.parametrize("init", ["abc", ["a", "b"], np.array([1, 2], dtype=object), None])
def test_a_var_init_that_is_not_numbers_is_refused_naming_the_process_and_var(init):
    with pytest.raises(TypeError, match=r"Process 'odd' \(Box\), Var 'x': init value .* is "
                                        r"not a number \(bool, integer or float\)"):
        Box(x=init, name="odd")


@pytest.mark.parametrize("dtype", [object, str])
def test_a_var_dtype_that_is_not_a_number_type_is_refused_naming_the_process(dtype):
    with pytest.raises(TypeError, match=r"Process 'odd' \(Box\): Var dtype must be a number "
                                        r"type"):
        Box(dtype=dtype, name="odd")


def test_a_var_dtype_holds_the_given_values_and_refuses_what_it_cannot_hold():
    assert Box(x=3, dtype=np.int32).x.get().dtype == np.int32
    with pytest.raises(ValueError, match=r"Process 'odd' \(Box\): Var init: value 0\.5 is not "
                                         r"an integer"):
        Box(x=0.5, dtype=np.int32, name="odd")


@pytest.mark.parametrize("workers", [None, 0])
def test_setting_strings_or_objects_is_refused_naming_the_var(workers):
    box = Box(name="box")
    with pytest.raises(TypeError, match=r"box\.x: set\(\): value 'a' .* is not a number"):
        box.x.set(["a", "b"])
    with box:
        box.run(RunSteps(1), RunConfig(select_tag="floating_pt", workers=workers))
        with pytest.raises(TypeError, match=r"box\.x: set\(\): value 1 \(dtype object\) is "
                                            r"not a number"):
            box.x.set(np.array([1, 2], dtype=object))
        assert box.x.get().tolist() == [0, 0]


class Loose(Process):
    def __init__(self, *, name=None):
        super().__init__(name=name)
        self.x = Var((2,))
        self.out = OutPort((2,))


def test_a_model_declaring_an_object_dtype_is_refused_at_compile_time_naming_it():
    from lava_lite import OutPortType

    @implements(proc=Loose)
    class LooseModel(LoihiProcessModel):
        x = VarType(object)
        out = OutPortType(np.float64)

    with pytest.raises(CompileError, match=r"model LooseModel of Process 'loose' declares Var "
                                           r"'x' as VarType\(object\): declared types must "
                                           r"be numbers"):
        compile_graph(Loose(name="loose"), RunConfig())


# -- case 10: time steps and names ----------------------------------------------------------
def test_run_steps_beyond_the_last_time_step_are_refused():
    assert MAX_TIME_STEP == 2**63 - 1
    assert RunSteps(MAX_TIME_STEP).num_steps == MAX_TIME_STEP
    with pytest.raises(ValueError, match=r"RunSteps: num_steps must be at most 2\*\*63 - 1"):
        RunSteps(2**63)


class Named(Process):
    """A Process with one Var whose attribute name is ``var_name``."""

    def __init__(self, *, var_name, name=None):
        super().__init__(name=name)
        setattr(self, var_name, Var((2,), init=1.5))


def test_names_up_to_the_limit_run_and_longer_ones_are_refused_naming_the_class():
    longest = "v" * MAX_NAME_CHARS
    implements(proc=Named)(type("NamedModel", (LoihiProcessModel,),
                                {longest: VarType(np.float64)}))
    named = Named(var_name=longest, name="p" * MAX_NAME_CHARS)
    with named:  # through the wire: get/set name the Var
        named.run(RunSteps(1), RunConfig())
        getattr(named, longest).set([2.5, 3.5])
        assert getattr(named, longest).get().tolist() == [2.5, 3.5]

    too_long = "x" * 10_000
    with pytest.raises(ValueError, match=rf"LIF: name 'x+'\.\.\. has 10000 characters; at "
                                         rf"most {MAX_NAME_CHARS}"):
        LIF(shape=1, name=too_long)
    with pytest.raises(ValueError, match=rf"Process 'box' \(Named\): Var attribute name 'y+'"
                                         rf"\.\.\. has {MAX_NAME_CHARS + 1} characters"):
        Named(var_name="y" * (MAX_NAME_CHARS + 1), name="box")
    box = Box(name="box")
    box.name = too_long  # renamed after construction: refused when the run compiles
    with pytest.raises(CompileError, match=r"Box Process: name 'x+'\.\.\. has 10000"):
        compile_graph(box, FLOAT)


# -- case 10: NaN and infinity --------------------------------------------------------------
def test_float_models_let_nan_and_inf_through_unless_strict_overflow():
    lif = LIF(shape=(2,), v=[math.nan, 0.0], bias_mant=[0.0, math.inf], name="loose_lif")
    with lif:
        lif.run(RunSteps(1), RunConfig(select_tag="floating_pt", workers=0))
        v = lif.v.get()
    assert math.isnan(v[0]) and v[1] == 0  # inf > vth: spiked, reset
    with pytest.raises(CompileError, match=r"Process 'strict_lif', Var 'vth': value inf is not "
                                           r"finite \(strict_overflow=True refuses NaN"):
        compile_graph(LIF(shape=(2,), vth=math.inf, strict_overflow=True, name="strict_lif"),
                      FLOAT)
    strict = LIF(shape=(2,), strict_overflow=True, name="strict_set")
    strict.v.set([0.0, math.nan])
    with pytest.raises(CompileError, match=r"'strict_set', Var 'v': value nan is not finite"):
        compile_graph(strict, FLOAT)


def test_strict_overflow_refuses_non_finite_float_parameters():
    compile_graph(Box(param=[1.0, math.nan], name="loose"), FLOAT)
    with pytest.raises(CompileError, match=r"Process 'strict': parameter proc_params\['p'\]"
                                           r"\[1\] = nan is not finite"):
        compile_graph(Box(param=[1.0, math.nan], strict_overflow=True, name="strict"), FLOAT)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_integer_models_refuse_nan_and_inf_always(bad):
    with pytest.raises(CompileError, match=rf"Process 'box', Var 'x': value {bad!r} is not "
                                           rf"finite: an integer \(fixed-point\) type cannot "
                                           rf"hold NaN or infinity"):
        compile_graph(Box(x=[0.0, bad], name="box"), FIXED)
    with pytest.raises(CompileError, match=r"Process 'dense'.*weights\[0, 1\] = .* is not an "
                                           r"integer"):
        compile_graph(Dense(weights=[[1.0, bad]], name="dense"), FIXED)

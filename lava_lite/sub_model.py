"""SubProcessModel: a Process implemented by other Processes (a hierarchical Process).

::

    class Layer(Process):                     # what: like any Process
        def __init__(self, *, weights, vth=1.0, name=None):
            super().__init__(name=name)
            n_out, n_in = np.shape(weights)
            self.s_in = InPort((n_in,))
            self.s_out = OutPort((n_out,))
            self.v = Var((n_out,))
            self.proc_params.update(weights=np.asarray(weights).tolist(), vth=vth)

    @implements(proc=Layer)
    @tag("floating_pt")                       # optional, as for leaf models
    class LayerModel(SubProcessModel):        # how: by sub-Processes
        def __init__(self, proc):
            self.dense = Dense(weights=proc.proc_params["weights"])
            self.lif = LIF(shape=proc.v.shape, vth=proc.proc_params["vth"])
            proc.s_in.connect(self.dense.s_in)         # parent InPort -> child InPort
            self.dense.a_out.connect(self.lif.a_in)
            self.lif.s_out.connect(proc.s_out)         # child OutPort -> parent OutPort
            proc.v.alias(self.lif.v)                   # Layer.v get/set/probe reach lif.v

The compiler builds the model when it chooses it (``RunConfig(select_sub_proc_model=True)``
prefers SubProcessModels; otherwise leaf models are preferred and a SubProcessModel is used
when a Process has no leaf model), then chooses models for the children, to any depth. The
plan holds only leaf Processes; children the constructor did not name are named
``"<parent>.<attribute>"``. Port transforms work across the boundary
(``proc.a_in.reshape(...).connect(child.a_in)``).

Children are found among the model's attributes (Processes, or lists, tuples and dicts of
them) and among the Processes its connections reach. A parent Var that is not aliased has no
live value.
"""
from __future__ import annotations

from lava_lite.model import ProcessModel


class SubProcessModel(ProcessModel):
    """Base of hierarchical models: ``__init__(self, proc)`` builds child Processes, connects
    ``proc``'s ports to theirs and aliases ``proc``'s Vars to theirs."""

    def __init__(self, proc):
        """Build the sub-Processes of ``proc`` (override; no need to call super)."""
        super().__init__(getattr(proc, "proc_params", None))


def is_sub_model(model: type) -> bool:
    return isinstance(model, type) and issubclass(model, SubProcessModel)

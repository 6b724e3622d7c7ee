"""What the compiler's passes share: the inputs of one compilation and what each pass adds."""
from __future__ import annotations

from dataclasses import dataclass, field

from lava_lite.abstract_process import AbstractProbingProcess, AbstractProcess
from lava_lite.model import ProcessModel
from lava_lite.plan import ChannelPlan, Plan, ProbePlan, ProcessPlan, RefChannelPlan
from lava_lite.run_config import RunConfig


@dataclass
class CompileState:
    """One compilation, filled in pass by pass (``lava_lite.compiler.PASSES``).

    Parameters
    ----------
    start : AbstractProcess
        The Process whose connected graph is compiled.
    run_cfg : RunConfig
        Which models, where.
    cores : int
        CPU cores of this machine: how many workers automatic placement may use.
    """

    start: AbstractProcess
    run_cfg: RunConfig
    cores: int
    # expand: every Process reached (hierarchy order), the model chosen for each one that
    # is not an observer and why, the parent of each child of a SubProcessModel
    graph: list[AbstractProcess] = field(default_factory=list)
    chosen: dict[AbstractProcess, tuple[type[ProcessModel], str]] = field(default_factory=dict)
    parent_of: dict[AbstractProcess, AbstractProcess] = field(default_factory=dict)
    # expand: the Processes the plan holds (leaf models), numbered in graph order
    leaves: list[AbstractProcess] = field(default_factory=list)
    ids: dict[AbstractProcess, int] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    # checks: the declared types of each leaf's members, by name
    declared: dict[AbstractProcess, dict] = field(default_factory=dict)
    # routes
    channels: list[ChannelPlan] = field(default_factory=list)
    # devices: the device that runs each leaf that one runs, by id
    groups: dict[int, str] = field(default_factory=dict)
    # schedule
    order: list[int] = field(default_factory=list)
    # place: work per step and worker of each leaf, by id
    costs: dict[int, float] = field(default_factory=dict)
    placement: dict[int, int] = field(default_factory=dict)
    num_workers: int = 0
    # probes: the probes of each probed leaf (by id) and the probe ids of each observer
    probes: dict[int, list[ProbePlan]] = field(default_factory=dict)
    probe_ids: dict[AbstractProbingProcess, list[int]] = field(default_factory=dict)
    # build
    process_plans: list[ProcessPlan] = field(default_factory=list)
    ref_channels: list[RefChannelPlan] = field(default_factory=list)
    plan: Plan | None = None

    def model(self, process: AbstractProcess) -> type[ProcessModel]:
        """The model chosen for ``process``."""
        return self.chosen[process][0]

"""Monitor: records Vars and OutPorts where they live, read back in one message per worker."""
from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

from lava_lite.errors import RunStateError
from lava_lite.ports import OutPort
from lava_lite.probing import ProbingProcess
from lava_lite.validation import OptionalCount, validated
from lava_lite.var import Var


class ProbeOptions(BaseModel):
    """What ``Monitor.probe`` takes besides its target: ``num_steps`` (record steps 1..n)
    and/or ``buffer`` (keep the last n steps)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    num_steps: OptionalCount = None
    buffer: OptionalCount = None

    @model_validator(mode="after")
    def _something_to_record(self) -> "ProbeOptions":
        if self.num_steps is None and self.buffer is None:
            raise ValueError("give num_steps (the steps to record) or buffer (the number "
                             "of last steps to keep)")
        return self


class Monitor(ProbingProcess):
    """Records a Var (its value at the end of each step) or an OutPort (the data it sends,
    as received: a delayed port's data sent at step t is step t+1's). Recording happens
    inside the worker that hosts the probed Process: no extra messages per step, no phase
    forced on the rest of the network. Memory grows with the steps recorded, not with
    ``num_steps``.
    """

    def probe(self, target, num_steps: int | None = None, *, buffer: int | None = None) -> None:
        """Record ``target`` (a Var or an OutPort) at steps 1..``num_steps``.

        ``buffer=N`` keeps only the last N steps recorded (a rolling window, for long runs):
        ``get_data()`` then gives those steps, oldest first. With a buffer, ``num_steps`` is
        optional: left out, every step of the run is recorded; given, recording stops after
        step ``num_steps`` as without a buffer.

        Parameters
        ----------
        target : Var or OutPort
            What to record (an OutPort: the data it sends, as received).
        num_steps : int, optional
            Record steps 1..num_steps (needed without ``buffer``).
        buffer : int, optional
            Keep only the last ``buffer`` steps recorded.
        """
        if not isinstance(target, (Var, OutPort)) or target.process is None:
            raise TypeError(f"{self.name}.probe: target must be a Var or an OutPort of a "
                            f"Process, got {target!r}")
        options = validated(ProbeOptions, f"{self.name}.probe",
                            dict(num_steps=num_steps, buffer=buffer))
        if self._session is not None or target.process._session is not None:
            raise RunStateError(f"{self.name}.probe: add probes before the first run")
        self._add_probe(target, **options.model_dump())

    def plot(self, ax=None, target=None, *, neurons=None, title: str | None = None,
             **kwargs):
        """Draw what was recorded for ``target`` and return the matplotlib Axes.

        ``target`` is the probed Var or OutPort (``lif.v``, ``lif.s_out``); it may be left
        out when this Monitor has a single probe, and may come first:
        ``monitor.plot(lif.v)`` is ``monitor.plot(None, lif.v)``. OutPort data that is
        boolean or only 0/1 is drawn as a spike raster (a mark per spike: time step across,
        neuron index up); anything else (a Var trace, graded OutPort data) as one line per
        element over time.
        Arrays of more than one dimension are numbered in flat (C) order.

        ``ax``: the Axes to draw into (default: a new figure's). ``neurons``: flat indices
        of the elements to draw (default: all). ``title``: default ``"process.member"``.
        Other keyword arguments go to ``ax.scatter`` (raster) or ``ax.plot`` (traces).
        Only the steps run so far are drawn (for a probe with a ``buffer``, the steps of its
        window). Needs matplotlib (``pip install lava-lite[plot]``).
        """
        plt = _pyplot()  # first, so that a missing matplotlib is said before anything runs
        if isinstance(ax, (Var, OutPort)) and target is None:
            ax, target = None, ax  # monitor.plot(lif.v)
        member = self._plot_target(target)
        steps, data = self._steps_run(member,
                                      self.get_data()[member.process.name][member.name])
        flat = data.reshape(data.shape[0], -1)
        index = np.arange(flat.shape[1]) if neurons is None else np.atleast_1d(
            np.asarray(neurons))
        if index.ndim != 1 or not np.issubdtype(index.dtype, np.integer) or (
                index.size and (index.min() < -flat.shape[1] or index.max() >= flat.shape[1])):
            raise ValueError(f"{self.name}.plot: neurons must be flat indices in "
                             f"[0, {flat.shape[1]}) of {member.qualified_name}, "
                             f"got {neurons!r}")
        index = index % max(flat.shape[1], 1)
        if ax is None:
            _, ax = plt.subplots()
        is_spikes = isinstance(member, OutPort) and (
            flat.dtype == np.bool_ or np.isin(flat, (0, 1)).all())
        if is_spikes:
            times, rows = np.nonzero(flat[:, index])
            kwargs.setdefault("marker", "|")
            kwargs.setdefault("color", "black")
            kwargs.setdefault("s", 40)
            ax.scatter(steps[times], index[rows], **kwargs)
            ax.set_ylabel("neuron")
            if index.size:
                ax.set_ylim(index.min() - 0.5, index.max() + 0.5)
        else:
            lines = ax.plot(steps, flat[:, index], **kwargs)
            if 1 < index.size <= 10 and "label" not in kwargs:
                for line, i in zip(lines, index):
                    line.set_label(f"{member.name}[{i}]")
                ax.legend(loc="best", fontsize="small")
            ax.set_ylabel(member.name)
        if flat.shape[0]:
            ax.set_xlim(steps[0] - 0.5, steps[-1] + 0.5)
        ax.set_xlabel("time step")
        ax.set_title(member.qualified_name if title is None else title)
        return ax

    def _plot_target(self, target):
        probed = [member for member, _ in self._probe_requests]
        if target is None:
            if len(probed) == 1:
                return probed[0]
            names = ", ".join(m.qualified_name for m in probed) or "none"
            raise ValueError(f"{self.name}.plot: say which probe to draw (target=...); "
                             f"probed: {names}")
        for member in probed:
            if member is target:
                return member
        names = ", ".join(m.qualified_name for m in probed) or "none"
        raise ValueError(f"{self.name}.plot: {target!r} is not probed by this Monitor; "
                         f"probed: {names}")

    def _steps_run(self, member, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The steps run so far that ``data`` (``get_data()``'s array for ``member``) holds,
        and their rows. A rolling probe's rows are its last steps recorded: the last one is
        the current step (the next for a delayed OutPort, whose data arrives a step later),
        or ``num_steps`` if that came first."""
        current = self._session.current_step
        probe, process = self._planned(member)
        if probe.buffer is None:
            data = data[:min(len(data), current)]
            return np.arange(1, len(data) + 1), data
        delayed = probe.kind == "out_port" and any(
            port.delayed for port in process.ports if port.name == probe.target)
        end = current + delayed
        if probe.num_steps is not None:
            end = min(end, probe.num_steps)
        steps = np.arange(end - len(data) + 1, end + 1)
        shown = steps <= current
        return steps[shown], data[shown]

    def _planned(self, member):
        """The ProbePlan of this Monitor's probe of ``member``, and the plan of the Process
        it records."""
        index = next(k for k, (m, _) in enumerate(self._probe_requests) if m is member)
        probe_id = self._session.compiled.probe_ids[self][index]
        return next((probe, process) for process in self._session.plan.processes
                    for probe in process.probes if probe.id == probe_id)

    def get_data(self) -> dict[str, dict[str, np.ndarray]]:
        """``{process_name: {var_or_port_name: array}}``. A probe without a buffer gives
        ``(num_steps, *shape)``: step t in row t-1, steps not yet run hold zeros. A probe
        with ``buffer=N`` gives ``(k, *shape)``: the last k <= N steps recorded, oldest
        first."""
        if self._session is None:
            raise RunStateError(f"{self.name}.get_data: the network has not run yet")
        by_id = self._session.probe_data(self)
        result: dict[str, dict[str, np.ndarray]] = {}
        for probe_id, (member, _) in zip(self._session.compiled.probe_ids[self],
                                         self._probe_requests):
            if probe_id in by_id:  # (not if lost with a worker that died: a warning says so)
                result.setdefault(member.process.name, {})[member.name] = by_id[probe_id]
        return result


def _pyplot():
    """matplotlib.pyplot, imported only when something is plotted."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("Monitor.plot needs matplotlib: pip install lava-lite[plot]") from exc
    return plt

"""Monitor: records Vars and OutPorts where they live, read back in one message per worker."""
from __future__ import annotations

import numbers

import numpy as np

from lava_lite.errors import RunStateError
from lava_lite.ports import OutPort
from lava_lite.probing import ProbingProcess
from lava_lite.var import Var


class Monitor(ProbingProcess):
    """Records a Var (its value at the end of each step) or an OutPort (the data it sends)
    for the first ``num_steps`` steps. Recording happens inside the worker that hosts the
    probed Process: no extra messages per step, no phase forced on the rest of the network.
    """

    def probe(self, target, num_steps: int) -> None:
        if not isinstance(target, (Var, OutPort)) or target.process is None:
            raise TypeError(f"{self.name}.probe: target must be a Var or an OutPort of a "
                            f"Process, got {target!r}")
        if isinstance(num_steps, bool) or not isinstance(num_steps, numbers.Integral) \
                or num_steps < 1:
            raise ValueError(f"{self.name}.probe: num_steps must be a positive int, "
                             f"got {num_steps!r}")
        if self._session is not None or target.process._session is not None:
            raise RunStateError(f"{self.name}.probe: add probes before the first run")
        self._add_probe(target, num_steps=int(num_steps))

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
        Only the steps run so far are drawn. Needs matplotlib (``pip install
        lava-lite[plot]``).
        """
        plt = _pyplot()  # first, so that a missing matplotlib is said before anything runs
        if isinstance(ax, (Var, OutPort)) and target is None:
            ax, target = None, ax  # monitor.plot(lif.v)
        member = self._plot_target(target)
        data = self.get_data()[member.process.name][member.name]
        recorded = data.shape[0]
        data = data[:min(recorded, self._session.current_step)]
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
        steps = np.arange(1, flat.shape[0] + 1)
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
            ax.set_xlim(0.5, flat.shape[0] + 0.5)
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

    def get_data(self) -> dict[str, dict[str, np.ndarray]]:
        """``{process_name: {var_or_port_name: array (num_steps, *shape)}}``; steps not yet
        run hold zeros."""
        if self._session is None:
            raise RunStateError(f"{self.name}.get_data: the network has not run yet")
        by_id = self._session.probe_data(self)
        result: dict[str, dict[str, np.ndarray]] = {}
        for probe_id, (member, _) in zip(self._session.compiled.probe_ids[self],
                                         self._probe_requests):
            result.setdefault(member.process.name, {})[member.name] = by_id[probe_id]
        return result


def _pyplot():
    """matplotlib.pyplot, imported only when something is plotted."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("Monitor.plot needs matplotlib: pip install lava-lite[plot]") from exc
    return plt

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
        self._add_probe(target, int(num_steps))

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

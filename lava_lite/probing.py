"""Processes that only observe: they have no model and are compiled into probes on others.

``assemble`` (``lava_lite.probe_data``) turns what a probe recorded into what
``Monitor.get_data()`` returns; it is importable from here too.
"""
from __future__ import annotations

from lava_lite.abstract_process import AbstractProbingProcess
from lava_lite.probe_data import assemble
from lava_lite.process import Process

__all__ = ["ProbingProcess", "assemble"]


class ProbingProcess(Process, AbstractProbingProcess):
    """Base of host-side observers (Monitor). Each probe records a Var or an OutPort inside
    the worker that hosts the probed Process, and is read back in one message per worker.

    Parameters
    ----------
    name : str, optional
        As for any Process.
    """

"""Runtimes: how a compiled plan runs. Importing this package registers every built-in one
(``lava_lite.backends``).

The device API for a backend's runtime side: ``Partition`` (runs the Processes a device
hosts, see ``partition.py``), the runtime ports ``RuntimeInPort``/``RuntimeOutPort`` its
members' ports become, and ``ProbeStore`` (what probes record into).
"""
from lava_lite.runtimes import in_process, multiprocess  # noqa: F401  (registration)
from lava_lite.runtimes import chip  # noqa: F401,E402  (the chip partition and device)
from lava_lite.runtimes.partition import Partition
from lava_lite.runtimes.ports import RuntimeInPort, RuntimeOutPort
from lava_lite.runtimes.probes import ProbeStore

__all__ = ["Partition", "ProbeStore", "RuntimeInPort", "RuntimeOutPort"]

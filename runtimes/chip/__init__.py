"""The neuromorphic chip backend: Processes whose models require NeuroCore run on a chip.

- ``driver.py``: the ChipDriver interface (what the runtime asks of any chip);
- ``zmq_driver.py``: its implementation for the emulated chip, over ZeroMQ;
- ``emulator.py``: the emulated chip, an OS process of its own (``lava-lite-chip``);
- ``config.py``/``mapping.py``: chip limits and configurations, and the mapper from a plan;
- ``partition.py``: ChipPartition, which the executor schedules in place of the chip's
  Processes.

Importing this package registers the partition (for NeuroCore) and the compile-time check
of the "chip" device.
"""
from lava_lite.model import NeuroCore
from lava_lite.runtime_registry import register_device
from lava_lite.runtimes.chip.partition import ChipPartition, check_plan
from lava_lite.runtimes.partition import register_partition

register_partition(NeuroCore, ChipPartition)
register_device("chip", check_plan)

__all__ = ["ChipPartition"]

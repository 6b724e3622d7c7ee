"""The neuromorphic chip backend: Processes whose models require NeuroCore run on a chip.

- ``driver.py``: the ChipDriver interface (what the runtime asks of any chip);
- ``zmq_driver.py``: its implementation for the emulated chip, over ZeroMQ;
- ``emulator.py``: the emulated chip, an OS process of its own (``lava-lite-chip``);
- ``config.py``/``mapping.py``: chip limits and configurations, and the mapper from a plan,
  which maps models by exact class (``register_chip_model(model, LIF | DENSE | SPARSE)``);
- ``partition.py``: ChipPartition, which the executor schedules in place of the chip's
  Processes.

Importing this package registers the "chip" device (``lava_lite.backends``): models requiring
NeuroCore run in a ChipPartition, its options are ChipOptions, and check_plan refuses at
compile time what the chip cannot hold.
"""
from lava_lite.backends import Device, register_device
from lava_lite.model import NeuroCore
from lava_lite.runtimes.chip.mapping import (DENSE, LIF, SPARSE, ChipKind, register_chip_model,
                                             unregister_chip_model)
from lava_lite.runtimes.chip.partition import DEVICE, ChipOptions, ChipPartition, check_plan

register_device(Device(name=DEVICE, resource=NeuroCore, partition=ChipPartition,
                       options=ChipOptions, check=check_plan))

__all__ = ["DENSE", "LIF", "SPARSE", "ChipKind", "ChipOptions", "ChipPartition",
           "register_chip_model", "unregister_chip_model"]

"""The chip driver interface: everything the runtime asks of a neuromorphic chip.

A driver connects the host to one chip (emulated or, one day, a real board). The chip
partition (``partition.py``) uses only these methods, so a real board is one more driver.

Life of a driver: ``open()`` (connect; returns the chip's limits), ``load(config)`` (a
ChipConfig from ``mapping.py``), then per time step ``inject(inputs)`` + ``run(1)`` +
``read_outputs()`` (or ``step(inputs)``, which does the three, in one round trip where the
transport allows), ``read_state``/``write_state`` between steps, and ``close()`` (which,
for a chip the driver started, ends it).
"""
from __future__ import annotations

import abc
from dataclasses import dataclass, field

import numpy as np

from lava_lite.runtimes.chip.config import ChipConfig, ChipError, ChipLimits


@dataclass(frozen=True)
class ChipInfo:
    """What ``open()`` learns: the chip's limits, its process id (an emulator's OS process;
    None for hardware) and the step it is at."""

    limits: ChipLimits
    pid: int | None = None
    step: int = 0


@dataclass
class StepResult:
    """Host outputs (in the configuration's ``host_outputs`` order: bool spikes, int32
    activations) and readouts (``readouts`` order) after the last step run."""

    step: int
    outputs: list[np.ndarray] = field(default_factory=list)
    readouts: list[np.ndarray] = field(default_factory=list)


class ChipDiedError(ChipError):
    """The chip's process ended (or the connection to it broke) while in use."""

    kind = "died"


class ChipTimeoutError(ChipError):
    """The chip did not answer in time."""

    kind = "timeout"


class ChipDriver(abc.ABC):
    """Abstract connection to one chip. Errors are ChipError subclasses (ChipLimitError for
    a configuration that does not fit, ChipDiedError, ChipTimeoutError, ...)."""

    @abc.abstractmethod
    def open(self) -> ChipInfo:
        """Connect to the chip (starting it first if the driver owns it)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the chip; end it if this driver started it. Safe to call twice."""

    @abc.abstractmethod
    def load(self, config: ChipConfig) -> None:
        """Load a configuration (the chip checks it against its limits) and reset to step 0."""

    @abc.abstractmethod
    def inject(self, inputs: list[np.ndarray]) -> None:
        """Input for the next step run: one array per ``host_inputs`` entry (spikes or
        graded payloads for axons, int32 currents for compartments)."""

    @abc.abstractmethod
    def run(self, num_steps: int = 1) -> None:
        """Run ``num_steps`` steps; the injected input enters the first of them."""

    @abc.abstractmethod
    def read_outputs(self) -> StepResult:
        """Output spikes/activations and readouts of the last step run."""

    def step(self, inputs: list[np.ndarray]) -> StepResult:
        """One step with ``inputs``: inject, run 1, read the outputs."""
        self.inject(inputs)
        self.run(1)
        return self.read_outputs()

    @abc.abstractmethod
    def read_state(self, group: str, var: str) -> np.ndarray:
        """Neuron state (a compartment variable of LIF ``group``, one value per neuron) or
        synapse state (``"weights"``: the quantized table of a Dense/Sparse ``group``)."""

    @abc.abstractmethod
    def write_state(self, group: str, var: str, value: np.ndarray) -> None:
        """Write what ``read_state`` reads (same layout)."""

    @property
    def pid(self) -> int | None:
        """OS process id of the chip, when it is an emulator (None otherwise)."""
        return None

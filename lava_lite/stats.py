"""Run statistics: where the time of a run went, per Process and per worker."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessStats:
    name: str
    worker: int
    compute_seconds: float  # in its spike phase and sending (less any wait for a receiver)
    wait_seconds: float  # waiting for its inputs, or for a receiver that was behind


@dataclass(frozen=True)
class WorkerStats:
    worker: int
    messages_sent: int
    bytes_sent: int
    messages_received: int
    bytes_received: int


@dataclass(frozen=True)
class RunStats:
    """``print(proc.run_stats())`` shows a table; the fields are there for programs."""
    steps: int
    processes: tuple[ProcessStats, ...]
    workers: tuple[WorkerStats, ...]

    def __str__(self) -> str:
        lines = [f"run stats after {self.steps} steps",
                 f"{'process':<28}{'worker':>7}{'compute s':>11}{'wait s':>9}"
                 f"{'us/step':>9}"]
        for p in sorted(self.processes, key=lambda p: -p.compute_seconds):
            per_step = 1e6 * p.compute_seconds / max(self.steps, 1)
            lines.append(f"{p.name:<28}{p.worker:>7}{p.compute_seconds:>11.4f}"
                         f"{p.wait_seconds:>9.4f}{per_step:>9.1f}")
        if self.workers:
            lines.append(f"{'worker':<8}{'msgs out':>10}{'MB out':>9}{'msgs in':>10}{'MB in':>8}")
            for w in self.workers:
                lines.append(f"{w.worker:<8}{w.messages_sent:>10}{w.bytes_sent / 1e6:>9.2f}"
                             f"{w.messages_received:>10}{w.bytes_received / 1e6:>8.2f}")
        return "\n".join(lines)

"""CompileErrors collected over a pass, so that one compile reports every Process at fault."""
from __future__ import annotations

from contextlib import contextmanager

from lava_lite.errors import CompileError


class Problems:
    """CompileErrors collected over one pass of the compiler, so that a compile reports
    every Process at fault at once instead of one per attempt."""

    def __init__(self):
        self.errors: list[CompileError] = []

    @contextmanager
    def collect(self):
        """Keep a CompileError raised inside the block instead of letting it through."""
        try:
            yield
        except CompileError as exc:
            self.errors.append(exc)

    def raise_any(self) -> None:
        """Raise what was collected: the one error, or one listing them all."""
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise CompileError(f"{len(self.errors)} problems:\n"
                               + "\n".join(f"- {e}" for e in self.errors))

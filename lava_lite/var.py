"""Var: a named piece of Process state, with an initial value and live access through the runtime."""
from __future__ import annotations

import numpy as np

from lava_lite.members import ProcessMember, normalize_shape


class Var(ProcessMember):
    """State of a Process.

    ``get()`` returns the initial value before the first run and the live value (one message,
    whatever the size) once the Process runs; ``set(value)`` writes it the same way.
    """

    def __init__(self, shape, init=0, dtype=None, shareable: bool = True):
        super().__init__(normalize_shape(shape))
        array = np.asarray(init)
        if dtype is not None:
            array = array.astype(dtype)
        try:
            self.init = np.array(np.broadcast_to(array, self.shape))
        except ValueError:
            raise ValueError(
                f"Var init of shape {array.shape} does not fit the Var's shape {self.shape}"
            ) from None
        self.dtype = self.init.dtype
        self.shareable = shareable

    def get(self, idx=None) -> np.ndarray:
        """Current value (or the elements at ``idx``), as an array of the Var's dtype."""
        runtime = self._live_runtime()
        value = self.init.copy() if runtime is None else runtime.get_var(self)
        return value if idx is None else self._index(value, idx)

    def set(self, value, idx=None) -> None:
        """Write the whole Var (or the elements at ``idx``) in one message."""
        runtime = self._live_runtime()
        current = self.init if runtime is None else None
        if idx is not None:
            current = self.get() if current is None else current
            self._index(current, idx)  # validates idx
            current = current.copy()
            current[idx] = value
            value = current
        array = np.asarray(value)
        try:
            array = np.broadcast_to(array, self.shape)
        except ValueError:
            raise ValueError(
                f"{self.qualified_name}: cannot set a value of shape {array.shape} "
                f"on a Var of shape {self.shape}") from None
        if runtime is None:
            self.init = np.array(array, dtype=self.dtype)
        else:
            runtime.set_var(self, np.ascontiguousarray(array))

    def _index(self, value: np.ndarray, idx):
        try:
            return value[idx]
        except (IndexError, TypeError) as exc:
            raise IndexError(f"{self.qualified_name}: bad index {idx!r} for shape "
                             f"{self.shape}: {exc}") from None

    def _live_runtime(self):
        process = self.process
        return None if process is None else process._active_runtime()

"""Var: a named piece of Process state, with an initial value and live access at run time."""
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
        self.aliased_var: Var | None = None
        self._user_value: np.ndarray | None = None  # set() before the first run, as given

    # -- aliases (hierarchical Processes) ------------------------------------------------------
    def alias(self, other: "Var") -> None:
        """Make this Var (of a hierarchical Process) stand for ``other`` (a Var of one of its
        sub-Processes): ``get``/``set`` and probes of this Var reach ``other``. Called in a
        SubProcessModel's constructor: ``proc.v.alias(self.lif.v)``.

        A value given to this Var with ``set`` before the first run is passed on to ``other``
        (the initial value the Process was built with is not: the SubProcessModel decides
        its children's initial values)."""
        if not isinstance(other, Var):
            raise TypeError(f"{self.qualified_name}.alias: needs a Var, "
                            f"got {type(other).__name__}")
        if other.shape != self.shape:
            raise ValueError(f"cannot alias {self.qualified_name} (shape {self.shape}) to "
                             f"{other.qualified_name} (shape {other.shape}): shapes differ")
        if other.resolve_alias() is self:
            raise ValueError(f"cannot alias {self.qualified_name} to "
                             f"{other.qualified_name}: the aliases would form a loop")
        from lava_lite.ports import log_change  # the compiler records what SubProcessModels do

        previous = self.aliased_var
        self.aliased_var = other
        log_change(lambda: setattr(self, "aliased_var", previous))
        if self._user_value is not None:
            before = (other.init, other._user_value)
            other.init = np.array(self._user_value, dtype=other.dtype)
            other._user_value = self._user_value
            log_change(lambda: (setattr(other, "init", before[0]),
                                setattr(other, "_user_value", before[1])))

    def resolve_alias(self) -> "Var":
        """The Var this one finally stands for (itself if it is not an alias)."""
        var, seen = self, {id(self)}
        while var.aliased_var is not None:
            var = var.aliased_var
            if id(var) in seen:
                raise ValueError(f"{self.qualified_name}: its aliases form a loop")
            seen.add(id(var))
        return var

    def get(self, idx=None) -> np.ndarray:
        """Current value (or the elements at ``idx``), as an array of the Var's dtype."""
        runtime = self._live_runtime()
        value = self.resolve_alias().init.copy() if runtime is None else runtime.get_var(self)
        return value if idx is None else self._index(value, idx)

    def set(self, value, idx=None) -> None:
        """Write the whole Var (or the elements at ``idx``) in one message."""
        runtime = self._live_runtime()
        current = self.resolve_alias().init if runtime is None else None
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
            target = self.resolve_alias()
            target.init = np.array(array, dtype=target.dtype)
            if target is not self:
                self.init = np.array(array, dtype=self.dtype)
            self._user_value = target._user_value = np.array(array)
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

"""Var: a named piece of Process state, with an initial value and live access at run time."""
from __future__ import annotations

import numpy as np

from lava_lite.members import ProcessMember, normalize_shape
from lava_lite.undo_log import log_change
from lava_lite.value_checks import NUMBER_TYPES, is_number_dtype, not_numbers, value_problem


class Var(ProcessMember):
    """State of a Process.

    Before the first run a Var holds its values as given (the constructor's ``init``, then
    what ``set`` wrote), not cast to any type: the compiler checks them against the type the
    chosen model declares (refusing a fraction for an integer type, a value out of range) and
    casts them, once. ``get()`` returns them as given. Once the Process runs, ``get()`` and
    ``set(value)`` read and write the live value (one message, whatever the size) in the
    dtype the model declares.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the state.
    init : array_like
        Initial value, broadcast to ``shape`` (default 0).
    dtype : numpy dtype, optional
        A bool, integer or float type to hold the given values in from the start; a value
        it cannot hold exactly is refused.
    shareable : bool
        Whether RefPorts of other Processes may reach it (default True).
    """

    def __init__(self, shape, init=0, dtype=None, shareable: bool = True):
        super().__init__(normalize_shape(shape))
        self.given_dtype = None if dtype is None else _number_dtype(dtype)
        array = _as_array(init, "Var init")
        if not_numbers(array) is None:  # anything else is refused by attach, naming the Var
            array = self._held(array, "Var init")
        try:
            self.init = np.array(np.broadcast_to(array, self.shape))
        except ValueError:
            raise ValueError(
                f"Var init of shape {array.shape} does not fit the Var's shape {self.shape}"
            ) from None
        self.shareable = shareable
        self.aliased_var: Var | None = None
        self._user_value: np.ndarray | None = None  # set() before the first run, as given

    def attach(self, process, name: str) -> None:
        """Become Var ``name`` of ``process``, refusing an init that is not numbers (here,
        where the message can name both)."""
        super().attach(process, name)
        problem = not_numbers(self.init)
        if problem is not None:
            raise TypeError(f"Process '{process.name}' ({type(process).__name__}), Var "
                            f"'{name}': init {problem}")

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the values held before the first run (as given, or ``dtype``)."""
        return self.init.dtype

    def _held(self, array: np.ndarray, what: str) -> np.ndarray:
        """``array`` in ``given_dtype`` (unchanged without one); refuses what that type
        cannot hold exactly."""
        if self.given_dtype is None:
            return array
        problem = value_problem(array, self.given_dtype, None)
        if problem is not None:
            raise ValueError(f"{what}: {problem}")
        return array.astype(self.given_dtype)

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
        previous = self.aliased_var
        self.aliased_var = other
        log_change(lambda: setattr(self, "aliased_var", previous))
        if self._user_value is not None:
            before = (other.init, other._user_value)
            other.init = other._held(self._user_value.copy(),
                                     f"{self.qualified_name}.alias({other.qualified_name})")
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
        """Current value (or the elements at ``idx``): before the first run as given, then
        in the dtype the model declares."""
        runtime = self._live_runtime()
        value = self.resolve_alias().init.copy() if runtime is None else runtime.get_var(self)
        return value if idx is None else self._index(value, idx)

    def set(self, value, idx=None) -> None:
        """Write the whole Var (or the elements at ``idx``) in one message. Before the first
        run the value is kept as given and checked when the run compiles; once running it is
        checked against the model's type at once."""
        runtime = self._live_runtime()
        array = _numbers(value, f"{self.qualified_name}: set()")
        if idx is not None:
            array = self._with_elements(
                self.resolve_alias().init if runtime is None else self.get(), idx, array)
        try:
            array = np.broadcast_to(array, self.shape)
        except ValueError:
            raise ValueError(
                f"{self.qualified_name}: cannot set a value of shape {array.shape} "
                f"on a Var of shape {self.shape}") from None
        if runtime is None:
            self._keep_as_given(array)
        else:
            runtime.set_var(self, np.ascontiguousarray(array))

    def _with_elements(self, current: np.ndarray, idx, array: np.ndarray) -> np.ndarray:
        """A copy of ``current`` with ``array`` written at ``idx``, in a dtype that holds
        both (a float written into integers makes floats, to be checked, not truncated)."""
        self._index(current, idx)  # validates idx
        result = current.astype(np.result_type(current, array))
        try:
            result[idx] = array
        except ValueError as exc:
            raise ValueError(f"{self.qualified_name}: cannot set a value of shape "
                             f"{array.shape} at index {idx!r}: {exc}") from None
        return result

    def _keep_as_given(self, array: np.ndarray) -> None:
        """Before the first run: hold ``array`` (on this Var and on the Var it stands for)
        until the compiler checks and casts it for the chosen model."""
        target = self.resolve_alias()
        given = np.array(array)
        target.init = target._held(given.copy(), f"{target.qualified_name}: set()")
        if target is not self:
            self.init = self._held(given.copy(), f"{self.qualified_name}: set()")
        self._user_value = target._user_value = given

    def _index(self, value: np.ndarray, idx):
        try:
            return value[idx]
        except (IndexError, TypeError) as exc:
            raise IndexError(f"{self.qualified_name}: bad index {idx!r} for shape "
                             f"{self.shape}: {exc}") from None

    def _live_runtime(self):
        process = self.process
        return None if process is None else process._active_runtime()


def _number_dtype(dtype) -> np.dtype:
    """``dtype`` as a numpy dtype, refusing anything but bool, integer and float types."""
    try:
        result = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"Var dtype {dtype!r} is not a numpy dtype: {exc}") from None
    if not is_number_dtype(result):
        raise TypeError(f"Var dtype must be a number type ({NUMBER_TYPES}), "
                        f"got {result.name}")
    return result


def _as_array(value, what: str) -> np.ndarray:
    """``np.asarray(value)``, refusing ragged nestings with a message that starts with
    ``what``."""
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{what}: {value!r:.80} is not an array: {exc}") from None


def _numbers(value, what: str) -> np.ndarray:
    """``value`` as an ndarray of numbers (bool, integer or float), refusing strings,
    objects and ragged nestings with a message that starts with ``what``."""
    array = _as_array(value, what)
    problem = not_numbers(array)
    if problem is not None:
        raise TypeError(f"{what}: {problem}")
    return array

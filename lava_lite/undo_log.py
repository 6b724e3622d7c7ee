"""An undo log of graph changes: links between ports and Var aliases.

The compiler builds a SubProcessModel's sub-Processes inside ``recording()``, so that it can
take back what the model connected and aliased when a later compilation chooses another
model (or the build fails half-way). Ports (``lava_lite.abstract_port``) and Vars
(``lava_lite.var``) call ``log_change`` with the undo function of each change they make.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator

UndoLog = list[Callable[[], None]]

# The logs being recorded, innermost last.
_LOGS: list[UndoLog] = []


@contextlib.contextmanager
def recording() -> Iterator[UndoLog]:
    """Record every graph change made inside the block.

    Yields
    ------
    list of callable
        One undo function per change, oldest first; pass it to ``undo``.
    """
    log: UndoLog = []
    _LOGS.append(log)
    try:
        yield log
    finally:
        _LOGS.remove(log)


def undo(log: UndoLog) -> None:
    """Take back the changes recorded in ``log``, newest first, emptying it.

    Parameters
    ----------
    log : list of callable
        A log filled by ``recording``.
    """
    while log:
        log.pop()()


def log_change(undo_function: Callable[[], None]) -> None:
    """Register how to undo a graph change with the innermost recording, if any.

    Parameters
    ----------
    undo_function : callable
        Called with no arguments, it reverts the change.
    """
    if _LOGS:
        _LOGS[-1].append(undo_function)

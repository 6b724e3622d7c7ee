"""No orphans: processes a run starts die with the process that started them."""
from __future__ import annotations

import atexit
import ctypes
import os
import signal
import sys
import threading


# Linux sends the parent-death signal when the *thread* that forked a process ends, not only
# when the process does. A child forked by a thread that may end before the run (a blocking
# run in a short-lived thread) asks for this signal instead of SIGKILL, and dies only if its
# parent process is really gone.
PARENT_THREAD_ENDED = signal.SIGUSR2


def die_with_parent(forked_by_main_thread: bool = True) -> None:
    """Ask Linux to end this process when its parent dies (no orphans after kill -9).

    ``forked_by_main_thread``: the parent forked this process from its main thread (which
    lives as long as the process): SIGKILL. Otherwise a handler of PARENT_THREAD_ENDED checks
    whether the parent process is gone or only its forking thread ended. Elsewhere than on
    Linux a no-op: callers also watch their parent while idle."""
    if not sys.platform.startswith("linux"):
        return
    signum = signal.SIGKILL
    if not forked_by_main_thread:
        parent = os.getppid()

        def parent_thread_ended(number, frame) -> None:
            if os.getppid() != parent:  # reparented: the parent process is gone
                os._exit(1)

        signal.signal(PARENT_THREAD_ENDED, parent_thread_ended)
        signum = PARENT_THREAD_ENDED
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signum)  # PR_SET_PDEATHSIG
    except OSError:
        pass


# Signals whose default action ends the process without any clean-up (no atexit, no
# finalizers): run directories, sockets and a chip emulator would be left behind.
ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _clean_up_then_die(signum, frame) -> None:
    """Run what a normal exit runs (atexit: every live run is stopped, its directory removed),
    then die of the signal as the default action would (same exit status)."""
    atexit._run_exitfuncs()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def end_cleanly_on_signals() -> None:
    """Make SIGTERM and SIGHUP clean up before the process dies, where they still have their
    default action (a handler the user or a framework installed is left as it is). Only the
    main thread may install handlers; from another thread this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in ENDING_SIGNALS:
        if signal.getsignal(signum) is signal.SIG_DFL:
            signal.signal(signum, _clean_up_then_die)

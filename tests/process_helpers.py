"""Checks on OS processes shared by the tests: alive (a zombie is not), gone within a time."""
import time


def alive(pid: int) -> bool:
    """Running; a zombie (dead, not yet reaped) counts as gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def gone(pids, within: float = 5.0) -> bool:
    """True once none of ``pids`` is alive, False if some still are after ``within`` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(alive(pid) for pid in pids):
            return True
        time.sleep(0.02)
    return False

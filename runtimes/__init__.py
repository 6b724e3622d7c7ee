"""Runtimes: how a compiled plan runs. Importing this package registers every built-in one."""
from lava_lite.runtimes import in_process, multiprocess  # noqa: F401  (registration)
from lava_lite.runtimes import chip  # noqa: F401,E402  (the chip partition and device)

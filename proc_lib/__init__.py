"""The process library: one folder per Process, ``process.py`` (what) beside ``models.py`` (how)."""
from lava_lite.proc_lib.dense import Dense
from lava_lite.proc_lib.io import SinkRingBuffer, SourceRingBuffer
from lava_lite.proc_lib.lif import LIF
from lava_lite.proc_lib.monitor import Monitor
from lava_lite.proc_lib.sparse import Sparse

__all__ = ["Dense", "LIF", "Monitor", "SinkRingBuffer", "SourceRingBuffer", "Sparse"]

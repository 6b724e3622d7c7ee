from lava_lite.proc_lib.io.process import SinkRingBuffer, SourceRingBuffer
from lava_lite.proc_lib.io import models  # noqa: F401  (registers the models)

__all__ = ["SinkRingBuffer", "SourceRingBuffer"]

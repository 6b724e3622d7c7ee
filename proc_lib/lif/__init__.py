from lava_lite.proc_lib.lif.process import LIF
from lava_lite.proc_lib.lif import models  # noqa: F401  (registers the models)

__all__ = ["LIF"]

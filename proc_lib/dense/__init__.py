from lava_lite.proc_lib.dense.process import Dense
from lava_lite.proc_lib.dense import models  # noqa: F401  (registers the models)

__all__ = ["Dense"]

from lava_lite.proc_lib.sparse.process import Sparse
from lava_lite.proc_lib.sparse import models  # noqa: F401  (registers the models)

__all__ = ["Sparse"]

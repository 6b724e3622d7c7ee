from lava_lite.proc_lib.monitor.process import Monitor

__all__ = ["Monitor"]

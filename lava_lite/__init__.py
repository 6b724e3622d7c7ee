"""lava_lite: neuromorphic applications as graphs of communicating Processes.

Core API: Processes with ports and Vars, ProcessModels chosen per RunConfig, a compiler to an
executable plan. Runtimes live in ``lava_lite.runtimes``, the process library in
``lava_lite.proc_lib``.
"""
from lava_lite.errors import (CompileError, LavaLiteError, ProcessModelError, RunStateError,
                              RunTimeoutError, WorkerDiedError, WorkerError)
from lava_lite.model import (CPU, AsyncProcessModel, AsyncProtocol, DeviceProcessModel,
                             InPortType,
                             LoihiProcessModel, LoihiProtocol, NeuroCore, OutPortType,
                             ProcessModel, RefPortType, Resource, VarPortType, VarType,
                             implements, requires, tag)
from lava_lite.ports import InPort, OutPort
from lava_lite.process import Process
from lava_lite.ref_ports import RefPort, VarPort
from lava_lite.run_config import RunConfig, RunContinuous, RunSteps
from lava_lite.sub_model import SubProcessModel
from lava_lite.var import Var

__version__ = "0.1.0"

__all__ = [
    "CPU", "AsyncProcessModel", "AsyncProtocol", "CompileError", "DeviceProcessModel",
    "InPort", "InPortType",
    "LavaLiteError", "LoihiProcessModel", "LoihiProtocol", "NeuroCore", "OutPort",
    "OutPortType", "Process", "ProcessModel", "ProcessModelError", "RefPort", "RefPortType",
    "Resource", "RunConfig", "RunContinuous", "RunStateError", "RunSteps", "RunTimeoutError",
    "SubProcessModel", "Var", "VarPort", "VarPortType", "VarType", "WorkerDiedError",
    "WorkerError", "implements", "requires", "tag",
]

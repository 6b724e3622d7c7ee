"""How Sparse runs: float and bit-accurate fixed-point (Loihi) CPU models on scipy CSR, and
on the chip."""
from __future__ import annotations

import numpy as np

from lava_lite import (CPU, CompileError, InPortType, LoihiProtocol, NeuroCore, OutPortType,
                       VarType, implements, requires, tag)
from lava_lite.model import DeviceProcessModel
from lava_lite import fixed_point as fxp
from lava_lite.proc_lib.dense.models import (AbstractPySynapse, FixedSynapse, WeightCost,
                                             validate_chip_synapse, validate_fixed_synapse)
from lava_lite.proc_lib.sparse.process import Sparse


def check_csr_structure(nnz: int, indices: np.ndarray, indptr: np.ndarray,
                        shape: tuple[int, int]) -> None:
    """Raise ValueError unless ``indices``/``indptr`` describe ``nnz`` stored weights of a
    (n_out, n_in) CSR matrix."""
    n_out, n_in = shape
    if indices.shape != (nnz,):
        raise ValueError(f"indices has shape {indices.shape}, expected ({nnz},) "
                         f"(one per stored weight)")
    if indptr.shape != (n_out + 1,):
        raise ValueError(f"indptr has shape {indptr.shape}, expected ({n_out + 1},)")
    if indptr[0] != 0 or indptr[-1] != nnz or np.any(np.diff(indptr) < 0):
        raise ValueError(f"indptr must rise from 0 to {nnz} (the number of stored weights) "
                         f"without decreasing, got {indptr[0]} .. {indptr[-1]}")
    if nnz and (indices.min() < 0 or indices.max() >= n_in):
        bad = indices.min() if indices.min() < 0 else indices.max()
        raise ValueError(f"indices holds {bad}, outside the {n_in} inputs [0, {n_in - 1}]")


def _scipy_sparse():
    try:
        from scipy import sparse
    except ImportError:  # pragma: no cover - scipy is installed with the test extra
        return None
    return sparse


class _PySparseBase(AbstractPySynapse):
    """CSR matrix-vector product with the Dense semantics (binary: ``s != 0`` counts 1).

    The scipy matrix is rebuilt only when a Var is rebound (``set`` between runs)."""

    indices = VarType(np.int32)
    indptr = VarType(np.int64)

    def __init__(self, proc_params: dict | None = None):
        super().__init__(proc_params)
        self._matrix = None
        self._built_from = None

    @classmethod
    def validate(cls, process_name: str, params: dict, var_inits: dict) -> None:
        if _scipy_sparse() is None:
            raise CompileError(f"Process '{process_name}' (Sparse): its models need scipy; "
                               f"install it with pip install 'lava-lite[sparse]'")
        try:
            check_csr_structure(var_inits["weights"].shape[0], var_inits["indices"],
                                var_inits["indptr"], tuple(params["shape"]))
        except ValueError as exc:
            raise CompileError(f"Process '{process_name}' (Sparse): {exc}") from None

    def _values(self, weights: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _csr(self):
        key = (self.weights, self.indices, self.indptr)
        if self._built_from is None or any(a is not b for a, b in zip(key, self._built_from)):
            shape = tuple(self.proc_params["shape"])
            check_csr_structure(self.weights.shape[0], self.indices, self.indptr, shape)
            self._matrix = _scipy_sparse().csr_matrix(
                (self._values(self.weights), self.indices, self.indptr), shape=shape)
            self._built_from = key
        return self._matrix


@implements(proc=Sparse, protocol=LoihiProtocol)
@requires(CPU)
@tag("floating_pt")
class PySparseFloat(_PySparseBase):
    s_in = InPortType(np.float64)
    a_out = OutPortType(np.float64, delayed=True)
    weights = VarType(np.float64)

    def _values(self, weights):
        return np.array(weights, dtype=np.float64)

    def weighted_sum(self, s_in: np.ndarray) -> np.ndarray:
        """The CSR matrix times ``s_in`` (binary: times ``s_in != 0``)."""
        if self.proc_params["num_message_bits"] == 0:
            s_in = s_in != 0
        return self._csr() @ s_in.astype(np.float64)


@implements(proc=Sparse, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt", "bit_accurate_loihi")
class PySparseFixed(FixedSynapse, _PySparseBase):
    """Bit-accurate Loihi Sparse: numerically the fixed-point Dense on the same matrix.

    The stored weights are quantized like Dense's (the sign mode of the stored values is
    that of the full matrix with its zeros), once and again after ``weights.set``."""

    @classmethod
    def validate(cls, process_name: str, params: dict, var_inits: dict) -> None:
        super().validate(process_name, params, var_inits)
        validate_fixed_synapse(process_name, "Sparse", cls.__name__, params,
                               var_inits["weights"])

    def _values(self, weights):
        return self.quantized(weights)

    def weighted_sum(self, s_in: np.ndarray) -> np.ndarray:
        """``fixed_point.sparse_step``: the quantized CSR matrix times the input, shifted by
        ``weight_exp``."""
        params = self.proc_params
        return fxp.sparse_step(self._csr(), s_in, params["weight_exp"],
                               graded=params["num_message_bits"] > 0)


@implements(proc=Sparse, protocol=LoihiProtocol)
@requires(NeuroCore)
@tag("fixed_pt", "bit_accurate_loihi")
class ChipSparse(WeightCost, DeviceProcessModel):
    """Sparse on the (emulated) neuromorphic chip: a synapse table holding only the stored
    weights (each counts against its core's synapses), quantized as PySparseFixed does
    (``RunConfig(target="chip")``; see ``lava_lite.runtimes.chip``). Its structure (indices,
    indptr) is fixed once the run starts; weights may be set."""

    s_in = PySparseFixed.s_in
    a_out = PySparseFixed.a_out
    weights = PySparseFixed.weights
    indices = PySparseFixed.indices
    indptr = PySparseFixed.indptr

    @classmethod
    def validate(cls, process_name: str, params: dict, var_inits: dict) -> None:
        _PySparseBase.validate.__func__(cls, process_name, params, var_inits)
        validate_fixed_synapse(process_name, "Sparse", cls.__name__, params,
                               var_inits["weights"])
        validate_chip_synapse(process_name, "Sparse", cls.__name__, params)

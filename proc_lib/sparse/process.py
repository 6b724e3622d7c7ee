"""Sparse synapses: Dense semantics, storage and work proportional to the non-zero weights."""
from __future__ import annotations

import sys

import numpy as np

from lava_lite import InPort, OutPort, Process, Var
from lava_lite.proc_lib.dense.process import synapse_params


def _is_scipy_sparse(weights) -> bool:
    # A scipy.sparse object can only exist if scipy.sparse was imported: no import needed.
    module = sys.modules.get("scipy.sparse")
    return module is not None and module.issparse(weights)


def to_csr_arrays(weights, owner: str = "Sparse"):
    """``(values, indices, indptr, (n_out, n_in))`` of a 2-D weight matrix given as a
    scipy.sparse matrix/array (any format; duplicates summed, columns sorted, explicit
    zeros kept) or as a dense array-like (its non-zero entries). CSR layout: the weights of
    row ``r`` are ``values[indptr[r]:indptr[r + 1]]`` at columns ``indices[...]``."""
    if _is_scipy_sparse(weights):
        if weights.ndim != 2:
            raise ValueError(f"{owner}: weights must be 2-D (n_out, n_in), "
                             f"got shape {weights.shape}")
        csr = weights.tocsr(copy=True)
        csr.sum_duplicates()  # canonical: also sorts the column indices of each row
        values, indices, indptr = csr.data, csr.indices, csr.indptr
        shape = csr.shape
    else:
        dense = np.asarray(weights)
        if dense.ndim != 2:
            raise ValueError(f"{owner}: weights must be 2-D (n_out, n_in) or a "
                             f"scipy.sparse matrix, got shape {dense.shape}")
        rows, indices = np.nonzero(dense)  # row-major order: CSR order
        values = dense[rows, indices]
        indptr = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=dense.shape[0]))))
        shape = dense.shape
    if not (np.issubdtype(values.dtype, np.number) or values.dtype == np.bool_) \
            or np.issubdtype(values.dtype, np.complexfloating):
        raise TypeError(f"{owner}: weights must be real numbers, got dtype {values.dtype}")
    if shape[1] > np.iinfo(np.int32).max:
        raise ValueError(f"{owner}: at most {np.iinfo(np.int32).max} inputs, got {shape[1]}")
    return (np.ascontiguousarray(values), np.ascontiguousarray(indices, dtype=np.int32),
            np.ascontiguousarray(indptr, dtype=np.int64), (int(shape[0]), int(shape[1])))


class Sparse(Process):
    """Weighted connections from ``s_in`` (n_in,) to ``a_out`` (n_out,) with a sparse
    (n_out, n_in) weight matrix: exactly the semantics of Dense (one step of delay,
    binary or graded input, and in fixed point the same clipping, truncation and
    ``weight_exp`` shift, the sign mode counting the implicit zeros), but memory and work
    proportional to the number of stored weights.

    ``weights``: a scipy.sparse matrix (CSR or any other format) or a dense array (its
    non-zero entries are kept). Only the stored entries exist; their positions are fixed
    once the Process is built.

    Vars (the CSR components, so that the plan carries flat arrays, not a dense matrix):

    - ``weights`` (nnz,): the stored weight values, row by row (settable between runs;
      the fixed-point model re-quantizes them),
    - ``indices`` (nnz,) int32: the input (column) of each weight,
    - ``indptr`` (n_out + 1,) int64: row ``r`` owns ``weights[indptr[r]:indptr[r + 1]]``.

    ``weight_matrix()`` returns the current weights as a scipy CSR matrix. The models need
    scipy (``pip install 'lava-lite[sparse]'``).

    Parameters
    ----------
    weights : scipy.sparse matrix or array, shape (n_out, n_in)
        The stored weights (a dense array: its non-zero entries).
    weight_exp, num_weight_bits, num_message_bits, clip_weights, name
        As for ``Dense``.
    """

    def __init__(self, *, weights, weight_exp: int = 0, num_weight_bits: int = 8,
                 num_message_bits: int = 0, clip_weights: bool = True,
                 name: str | None = None):
        super().__init__(name=name)
        values, indices, indptr, (n_out, n_in) = to_csr_arrays(weights, self.name)
        params = synapse_params(self.name, weight_exp, num_weight_bits, num_message_bits,
                                clip_weights)
        nnz = values.shape[0]
        self.s_in = InPort((n_in,))
        self.a_out = OutPort((n_out,))
        self.weights = Var((nnz,), init=values)
        self.indices = Var((nnz,), init=indices)
        self.indptr = Var((n_out + 1,), init=indptr)
        self.proc_params.update(shape=[n_out, n_in], **params)

    @property
    def shape(self) -> tuple[int, int]:
        """(n_out, n_in) of the weight matrix."""
        return tuple(self.proc_params["shape"])

    def weight_matrix(self):
        """The current weights (live values once running) as a ``scipy.sparse.csr_matrix``."""
        from scipy import sparse

        return sparse.csr_matrix((self.weights.get(), self.indices.get(), self.indptr.get()),
                                 shape=self.shape)

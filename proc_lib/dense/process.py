"""Dense all-to-all synapses."""
from __future__ import annotations

import numpy as np

from lava_lite import InPort, OutPort, Process, Var
from lava_lite import fixed_point as fxp


def synapse_params(name: str, weight_exp, num_weight_bits, num_message_bits,
                   clip_weights) -> dict:
    """The checked proc_params shared by Dense and Sparse; errors name the Process."""
    for key, value in (("weight_exp", weight_exp), ("num_weight_bits", num_weight_bits),
                       ("num_message_bits", num_message_bits)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name}: {key} must be an int, got {value!r}")
    if not isinstance(clip_weights, bool):
        raise TypeError(f"{name}: clip_weights must be True or False, got {clip_weights!r}")
    if not 0 <= num_message_bits <= fxp.MESSAGE_BITS_MAX:
        raise ValueError(f"{name}: num_message_bits must be in [0, {fxp.MESSAGE_BITS_MAX}], "
                         f"got {num_message_bits}")
    return dict(weight_exp=int(weight_exp), num_weight_bits=int(num_weight_bits),
                num_message_bits=int(num_message_bits), clip_weights=clip_weights)


class Dense(Process):
    """Weighted connections from ``s_in`` (n_in,) to ``a_out`` (n_out,), weights (n_out, n_in).

    Delivers at step t+1 what it received at step t, which is what lets recurrent loops run.
    ``num_message_bits = 0``: binary spikes (sum of the columns of the active inputs); more:
    graded input (``weights @ s_in``). Fixed point: weights are 8-bit mantissas keeping
    ``num_weight_bits`` bits, and the sum is shifted by ``weight_exp``; weights outside the
    8-bit range are clipped (as in Lava) unless ``clip_weights=False``, which refuses them
    when the run is compiled. ``lava_lite.fixed_point.float_to_fixed_dense`` converts float
    weights.

    Parameters
    ----------
    weights : array, shape (n_out, n_in)
        The weight of each input (column) for each output (row).
    weight_exp : int
        Fixed point: the weighted sum is shifted by ``weight_exp`` ([-8, 7]).
    num_weight_bits : int
        Fixed point: bits of each 8-bit weight mantissa that are kept ([1, 8]).
    num_message_bits : int
        0: binary spikes (any non-zero input is a spike); more: graded input ([0, 32]).
    clip_weights : bool
        Fixed point: clip weights outside the 8-bit range (as Lava) or refuse them.
    name : str, optional
        The Process's name.
    """

    def __init__(self, *, weights, weight_exp: int = 0, num_weight_bits: int = 8,
                 num_message_bits: int = 0, clip_weights: bool = True,
                 name: str | None = None):
        super().__init__(name=name)
        weights = np.asarray(weights)
        if weights.ndim != 2:
            raise ValueError(f"{self.name}: weights must be 2-D (n_out, n_in), "
                             f"got shape {weights.shape}")
        params = synapse_params(self.name, weight_exp, num_weight_bits, num_message_bits,
                                clip_weights)
        n_out, n_in = weights.shape
        self.s_in = InPort((n_in,))
        self.a_out = OutPort((n_out,))
        self.weights = Var((n_out, n_in), init=weights)
        self.proc_params.update(params)

"""Leaky integrate-and-fire neurons with current-based synapses (CUBA LIF)."""
from __future__ import annotations

from lava_lite import InPort, OutPort, Process, Var


class LIF(Process):
    """CUBA LIF population.

    Each step: ``u = u * (1 - du) + a_in``; ``v = v * (1 - dv) + u + bias``; a neuron spikes
    where ``v > vth`` and its ``v`` is reset to 0 (``u`` is not). In fixed point (Loihi units)
    ``du``/``dv`` are 12-bit decay constants, ``vth`` is shifted left by 6 and the bias is
    ``bias_mant << bias_exp``; see ``lava_lite.fixed_point`` (``float_to_fixed_lif`` converts
    float parameters).

    ``strict_overflow=True``: in fixed point, raise, naming the neuron, the first time u
    would wrap at 24 bits or v would saturate, instead of wrapping/saturating as Loihi does;
    in any model, refuse NaN and infinity in the parameters and Vars when the run compiles
    (float models otherwise let them propagate).

    Values are kept as given until the run compiles, then checked and cast to the chosen
    model's types: floats for the float model, Loihi integers (refused if not integers)
    for the fixed-point ones.

    Parameters
    ----------
    shape : int or tuple of int
        Shape of the population (of ports ``a_in``, ``s_out`` and Vars ``u``, ``v``).
    u, v : float or array
        Initial synaptic current and membrane voltage.
    du, dv : float
        Decay of ``u`` and ``v`` per step (fixed point: 12-bit, 4096 is 1).
    bias_mant, bias_exp : float or array, int or array
        Constant input ``bias_mant * 2**bias_exp`` (float models: ``bias_mant``).
    vth : float
        Spiking threshold (fixed point: a mantissa shifted left by 6).
    strict_overflow : bool
        Raise instead of wrapping or saturating (fixed point), refuse NaN/inf (any model).
    name : str, optional
        The Process's name in plans, errors and Monitor data.
    """

    def __init__(self, *, shape, u=0.0, v=0.0, du=0.0, dv=0.0, bias_mant=0.0, bias_exp=0,
                 vth=10.0, strict_overflow: bool = False, name: str | None = None):
        super().__init__(name=name)
        if not isinstance(strict_overflow, bool):
            raise TypeError(f"{self.name}: strict_overflow must be True or False, "
                            f"got {strict_overflow!r}")
        self.proc_params["strict_overflow"] = strict_overflow
        self.a_in = InPort(shape)
        self.s_out = OutPort(shape)
        self.u = Var(shape, init=u)
        self.v = Var(shape, init=v)
        self.du = Var((1,), init=du)
        self.dv = Var((1,), init=dv)
        self.vth = Var((1,), init=vth)
        self.bias_mant = Var(shape, init=bias_mant)
        self.bias_exp = Var(shape, init=bias_exp)

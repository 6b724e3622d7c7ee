"""Virtual ports: reshape, flatten, transpose and concat views of real ports.

A virtual port exists only in the graph. It is derived from one port (reshape, transpose) or
several (concat) and takes its role from the first connection made with it:

- as a **source** (``v.connect(...)``, ``x.connect_from(v)``) it sits after the ports it
  derives from: data flows ``parents -> v -> ...`` and is transformed on the way into ``v``
  (``src.s_out.reshape((2, 3)).connect(dst.a_in)``; in a SubProcessModel
  ``proc.a_in.reshape(...).connect(child.a_in)``);
- as a **destination** (``x.connect(v)``, ``v.connect_from(x)``) it sits before them: data
  flows ``... -> v -> parents`` and the inverse transform is applied on the way out
  (``src.s_out.connect(dst.a_in.reshape(src.s_out.shape))``).

The transforms are recorded on the links as steps (``{"op": name, **fields}``), which the
compiler composes, per path from a leaf OutPort to a leaf InPort, into
``ChannelPlan.transform``; the receiver of the channel applies them
(``lava_lite.port_transforms``). ``transform_shape`` computes the shape a list of steps
produces, which the compiler uses to check every channel.

``PortViews`` is where ``reshape``, ``flatten``, ``transpose`` and ``concat_with`` are defined,
for InPorts and OutPorts (``lava_lite.ports``) and for virtual ports themselves.
"""
from __future__ import annotations

import math
import numbers

from lava_lite.abstract_port import AbstractPort, as_list, connect_ports, io_kind, require_kind
from lava_lite.members import normalize_shape
from lava_lite.port_transforms import step_shape

SOURCE, DESTINATION = "source", "destination"


def _axis(axis, ndim: int, where: str) -> int:
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{where}: axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{where}: axis {axis} is out of range for {ndim}-d ports "
                         f"(allowed {-ndim} to {ndim - 1})")
    return int(axis) % ndim


class PortViews:
    """The transforms of a port (InPorts, OutPorts and virtual ports): each returns a virtual
    port, which connects like any other and may be transformed again."""

    def reshape(self, shape) -> "VirtualPort":
        """A virtual port with this port's data in ``shape`` (same number of elements,
        C order). On an OutPort: ``src.s_out.reshape((2, 3)).connect(dst.a_in)``; on an
        InPort: ``src.s_out.connect(dst.a_in.reshape(src.s_out.shape))``.

        Parameters
        ----------
        shape : int or tuple of int
            The new shape.
        """
        return ReshapePort(self, shape)

    def flatten(self) -> "VirtualPort":
        """``reshape((size,))``."""
        return self.reshape((self.size,))

    def transpose(self, axes=None) -> "VirtualPort":
        """A virtual port with this port's axes permuted as ``numpy.transpose(axes)``.

        Parameters
        ----------
        axes : sequence of int, optional
            The permutation; None reverses the axes.
        """
        return TransposePort(self, axes)

    def concat_with(self, ports, axis: int = 0) -> "VirtualPort":
        """A virtual port holding this port's data followed by that of ``ports`` along
        ``axis``: ``a.s_out.concat_with(b.s_out, axis=0).connect(dst.a_in)``.

        Parameters
        ----------
        ports : port or list of ports
            The ports whose data follows this one's.
        axis : int
            The axis to join along.
        """
        return ConcatPort([self, *as_list(ports)], axis)


class VirtualPort(PortViews, AbstractPort):
    """A port derived from ``parents`` by a shape transform; see the module docstring.

    Parameters
    ----------
    shape : tuple of int
        Shape of this port's data.
    parents : list of AbstractPort
        The ports it derives from (InPorts, OutPorts or virtual ports of either kind).
    """

    def __init__(self, shape, parents: list[AbstractPort]):
        super().__init__(shape)
        kinds = {io_kind(p) for p in parents}
        if None in kinds:
            bad = next(p for p in parents if io_kind(p) is None)
            raise TypeError(f"only InPorts and OutPorts (or ports derived from them) can be "
                            f"transformed, got {type(bad).__name__} {bad!r}")
        if len(kinds) > 1:
            raise TypeError(f"cannot combine InPorts and OutPorts: "
                            f"{', '.join(p.qualified_name for p in parents)}")
        self.parents = tuple(parents)
        self.io_kind = kinds.pop()
        self.role: str | None = None  # SOURCE or DESTINATION, fixed by the first connection

    # -- what subclasses define ----------------------------------------------------------
    def describe(self) -> str:
        raise NotImplementedError

    def forward_steps(self, index: int) -> tuple[dict, ...]:
        """Steps from data of ``parents[index]``'s shape to data of this port's shape."""
        raise NotImplementedError

    def backward_steps(self, index: int) -> tuple[dict, ...]:
        """Steps from data of this port's shape to data of ``parents[index]``'s shape."""
        raise NotImplementedError

    # -- naming --------------------------------------------------------------------------
    @property
    def qualified_name(self) -> str:
        return self.describe()

    @property
    def process(self):
        """The Process of the first real port this one derives from (for messages)."""
        return self.parents[0].process

    @process.setter
    def process(self, value) -> None:
        if value is not None:
            raise ValueError(f"{self.describe()} is a virtual port: it cannot be a member "
                             f"of a Process")

    # -- role and attachment ---------------------------------------------------------------
    def _check_role(self, role: str) -> None:
        if self.role not in (None, role):
            flow = ("data flows from " if self.role == SOURCE else "data flows into ")
            raise ValueError(
                f"{self.describe()} is already used as a {self.role} ({flow}"
                f"{', '.join(p.qualified_name for p in self.parents)} through it); a "
                f"transformed port is either connected onward or connected into, not both")
        for parent in self.parents:
            if isinstance(parent, VirtualPort):
                parent._check_role(role)

    def _attach(self, role: str) -> None:
        """Link this port to the ports it derives from, once, in the direction ``role``."""
        if self.role == role:
            return
        self._check_role(role)
        for index, parent in enumerate(self.parents):
            if isinstance(parent, VirtualPort):
                parent._attach(role)
            if role == SOURCE:
                parent._link_to(self, self.forward_steps(index))
            else:
                self._link_to(parent, self.backward_steps(index))
        self.role = role

    # -- connections -----------------------------------------------------------------------
    def connect(self, ports) -> None:
        """Use this port as a source: send its (transformed) data to ``ports``."""
        for port in as_list(ports):
            if self.io_kind == "out":
                require_kind(self, port, ("in", "out"),
                             "can connect to an InPort or a parent's OutPort")
            else:
                require_kind(self, port, ("in",), "can only connect to a child's InPort")
            connect_ports(self, port)

    def connect_from(self, ports) -> None:
        """Use this port as a destination: data from ``ports`` flows through it into the
        ports it derives from."""
        for port in as_list(ports):
            if self.io_kind == "out":
                require_kind(self, port, ("out",), "can only connect_from an OutPort")
            else:
                require_kind(self, port, ("out", "in"),
                             "can connect_from an OutPort or a parent's InPort")
            connect_ports(port, self)


class ReshapePort(VirtualPort):
    """``port.reshape(shape)``: the same elements (C order) in another shape."""

    def __init__(self, parent: AbstractPort, shape):
        new_shape = normalize_shape(shape)
        if math.prod(new_shape) != parent.size:
            raise ValueError(f"cannot reshape {parent.qualified_name} (shape {parent.shape}, "
                             f"{parent.size} elements) to {new_shape} "
                             f"({math.prod(new_shape)} elements)")
        super().__init__(new_shape, [parent])

    def describe(self) -> str:
        return f"{self.parents[0].qualified_name}.reshape({self.shape})"

    def forward_steps(self, index: int) -> tuple[dict, ...]:
        return ({"op": "reshape", "shape": list(self.shape)},)

    def backward_steps(self, index: int) -> tuple[dict, ...]:
        return ({"op": "reshape", "shape": list(self.parents[0].shape)},)


class TransposePort(VirtualPort):
    """``port.transpose(axes)``: axes permuted as ``numpy.transpose``."""

    def __init__(self, parent: AbstractPort, axes=None):
        ndim = len(parent.shape)
        where = f"cannot transpose {parent.qualified_name} (shape {parent.shape})"
        if axes is None:
            axes = tuple(reversed(range(ndim)))
        try:
            axes = tuple(axes)
        except TypeError:
            raise TypeError(f"{where}: axes must be a sequence of ints, got {axes!r}") from None
        if len(axes) != ndim:
            raise ValueError(f"{where} with axes {axes}: need one axis per dimension ({ndim})")
        normalized = tuple(_axis(a, ndim, where) for a in axes)
        if sorted(normalized) != list(range(ndim)):
            raise ValueError(f"{where} with axes {axes}: not a permutation of "
                             f"{tuple(range(ndim))}")
        super().__init__(tuple(parent.shape[a] for a in normalized), [parent])
        self.axes = normalized

    def describe(self) -> str:
        return f"{self.parents[0].qualified_name}.transpose({self.axes})"

    def forward_steps(self, index: int) -> tuple[dict, ...]:
        return ({"op": "transpose", "axes": list(self.axes)},)

    def backward_steps(self, index: int) -> tuple[dict, ...]:
        inverse = sorted(range(len(self.axes)), key=self.axes.__getitem__)
        return ({"op": "transpose", "axes": inverse},)


class ConcatPort(VirtualPort):
    """``a.concat_with([b, ...], axis)``: the ports' data joined along ``axis``.

    As a source, each part is placed at its offset in an array of the joined shape and the
    receiver sums the parts (which assembles the concatenation); as a destination, each
    part receives its slice.
    """

    def __init__(self, ports: list[AbstractPort], axis: int):
        if len(ports) < 2:
            raise ValueError("concat_with needs at least one other port")
        for port in ports:
            if not isinstance(port, AbstractPort):
                raise TypeError(f"concat_with takes ports, got {type(port).__name__}")
        names = ", ".join(f"{p.qualified_name} (shape {p.shape})" for p in ports)
        ndims = {len(p.shape) for p in ports}
        if len(ndims) > 1:
            raise ValueError(f"cannot concatenate {names}: they have different numbers of "
                             f"dimensions")
        ndim = ndims.pop()
        if ndim == 0:
            raise ValueError(f"cannot concatenate 0-d ports {names}")
        axis = _axis(axis, ndim, f"cannot concatenate {names}")
        rest = {p.shape[:axis] + p.shape[axis + 1:] for p in ports}
        if len(rest) > 1:
            raise ValueError(f"cannot concatenate {names} along axis {axis}: shapes must "
                             f"match except along that axis")
        self.axis = axis
        self.offsets = []
        total = 0
        for port in ports:
            self.offsets.append(total)
            total += port.shape[axis]
        first = ports[0].shape
        super().__init__(first[:axis] + (total,) + first[axis + 1:], list(ports))

    def describe(self) -> str:
        return (f"concat([{', '.join(p.qualified_name for p in self.parents)}], "
                f"axis={self.axis})")

    def forward_steps(self, index: int) -> tuple[dict, ...]:
        return ({"op": "place", "shape": list(self.shape), "axis": self.axis,
                 "start": self.offsets[index]},)

    def backward_steps(self, index: int) -> tuple[dict, ...]:
        start = self.offsets[index]
        return ({"op": "take", "axis": self.axis, "start": start,
                 "stop": start + self.parents[index].shape[self.axis]},)


def simplify(shape: tuple[int, ...], steps) -> tuple[dict, ...]:
    """Equivalent steps without no-ops: reshapes to the current shape and identity
    transposes go, consecutive reshapes merge, consecutive transposes compose."""
    result: list[dict] = []
    shapes = [tuple(shape)]  # shapes[k]: shape before result[k]
    for step in steps:
        current = shapes[-1]
        new_shape = step_shape(current, step)
        op = step["op"]
        if op == "reshape" and result and result[-1]["op"] == "reshape":
            result.pop()
            shapes.pop()
            current = shapes[-1]
        if op == "transpose" and result and result[-1]["op"] == "transpose":
            previous = result.pop()["axes"]
            shapes.pop()
            current = shapes[-1]
            step = {"op": "transpose", "axes": [previous[a] for a in step["axes"]]}
        if op == "reshape" and new_shape == current:
            continue
        if step["op"] == "transpose" and list(step["axes"]) == list(range(len(current))):
            continue
        result.append(dict(step))
        shapes.append(new_shape)
    return tuple(result)

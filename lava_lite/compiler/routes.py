"""Channels: every path from a leaf's OutPort to a leaf's InPort, with its transform.

Paths run through parents' ports (hierarchy) and virtual ports (reshape, transpose,
concat); the transform steps along a path are composed, checked against the InPort's shape
and simplified into ``ChannelPlan.transform``.
"""
from __future__ import annotations

from lava_lite.abstract_port import AbstractPort
from lava_lite.compiler.state import CompileState
from lava_lite.errors import CompileError
from lava_lite.plan import ChannelPlan
from lava_lite.ports import InPort, OutPort
from lava_lite.port_transforms import transform_shape
from lava_lite.virtual_ports import VirtualPort, simplify


def route_channels(state: CompileState) -> None:
    """Pass: ``state.channels``, ordered by source (Process, then port declaration order)
    and destination alike, so that fan-in sums in a fixed order."""
    leaves, ids = state.leaves, state.ids
    leaf_set = set(leaves)
    channels = []
    for process in leaves:
        for port in process.members_of(OutPort).values():
            port_type = state.declared[process][port.name]
            for dst, steps in routes(port, leaf_set):
                channels.append((ids[process], port.name, ids[dst.process], dst.name,
                                 port.shape, port_type, channel_transform(port, dst, steps)))
    channels.sort(key=lambda c: (c[0], list(leaves[c[0]].members).index(c[1]), c[2],
                                 list(leaves[c[2]].members).index(c[3])))
    state.channels = [ChannelPlan(id=k, src=s, src_port=sp, dst=d, dst_port=dp, shape=shape,
                                  dtype=ptype.dtype.str, delayed=ptype.delayed, transform=steps)
                      for k, (s, sp, d, dp, shape, ptype, steps) in enumerate(channels)]


def routes(port: AbstractPort, leaves: set) -> list[tuple[InPort, tuple[dict, ...]]]:
    """(InPort of a model-backed Process, transform steps) for every path by which data sent
    on ``port`` reaches one, in connection order. The steps of a path turn data of
    ``port``'s shape into data of the InPort's shape.

    Parameters
    ----------
    port : AbstractPort
        A leaf's OutPort.
    leaves : set
        The Processes that run a model.
    """
    found: list[tuple[InPort, tuple[dict, ...]]] = []

    def walk(current: AbstractPort, steps: tuple, on_path: tuple) -> None:
        for nxt, link_steps in current.downstream():
            if nxt in on_path:
                raise CompileError(
                    f"port connections form a loop: "
                    f"{' -> '.join(p.qualified_name for p in (*on_path, nxt))}")
            total = steps + link_steps
            owner = None if isinstance(nxt, VirtualPort) else nxt.process
            if owner in leaves:
                if isinstance(nxt, OutPort):
                    raise CompileError(
                        f"{port.qualified_name} reaches {nxt.qualified_name}, an OutPort of "
                        f"'{owner.name}', which runs a model: an OutPort sends to InPorts, "
                        f"or to its parent Process's OutPort (hierarchical Processes)")
                if isinstance(nxt, InPort):
                    onward = [p.qualified_name for p, _ in nxt.downstream()]
                    if onward:
                        raise CompileError(
                            f"{nxt.qualified_name} of '{owner.name}', which runs a model, is "
                            f"connected onward to {', '.join(onward)}: only a parent "
                            f"Process's InPort forwards to a child's InPort")
                    found.append((nxt, total))
                    continue
            walk(nxt, total, (*on_path, nxt))

    walk(port, (), (port,))
    return found


def channel_transform(src: OutPort, dst: InPort, steps: tuple) -> tuple[dict, ...]:
    """The checked, simplified transform of the channel ``src`` -> ``dst``.

    Parameters
    ----------
    src : OutPort
        The sending leaf port.
    dst : InPort
        The receiving leaf port.
    steps : tuple of dict
        The transform steps along the path.
    """
    try:
        shape = transform_shape(src.shape, steps)
    except ValueError as exc:
        raise CompileError(f"the path from {src.qualified_name} (shape {src.shape}) to "
                           f"{dst.qualified_name} (shape {dst.shape}) has a transform that "
                           f"does not fit: {exc}") from None
    if shape != dst.shape:
        raise CompileError(f"the path from {src.qualified_name} (shape {src.shape}) to "
                           f"{dst.qualified_name} delivers shape {shape}, but the InPort's "
                           f"shape is {dst.shape}")
    return simplify(src.shape, steps)

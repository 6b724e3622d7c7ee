"""The step of one place (the in-process runtime, or one worker), written out once as
straight-line Python when the executor is built.

A generic loop over units, ports and channels pays ~0.7 us per unit and step for tuple
unpacking, flag tests and empty loops, which is a quarter of a small network's step. The
generated function does only what this place's schedule needs: per unit, gather the inputs
that must be gathered, run the model, hand each sent array to its receivers, and account the
time; then the management phases, Var probes and run-control words, where there are any. The
source is kept (``Executor.step_source``) so it can be read when debugging.
"""
from __future__ import annotations

from time import perf_counter
from typing import Callable

MISSING_SEND = ("the model did not send on OutPort '{port}'; a lock-step model sends on each "
                "connected OutPort every step")


class _Namespace:
    """The objects the generated code refers to, each under a short generated name."""

    def __init__(self, **fixed):
        self.objects = dict(fixed)

    def name(self, obj, prefix: str) -> str:
        name = f"{prefix}{len(self.objects)}"
        self.objects[name] = obj
        return name


def compile_step(executor) -> tuple[Callable[[], int], str]:
    """``run_step()`` for ``executor`` (runs step ``executor.step + 1``, returns it), and its
    source."""
    ns = _Namespace(perf_counter=perf_counter, missing_send=MISSING_SEND, executor=executor,
                    inbox=executor.inbox, progress=executor.progress,
                    computing=executor.computing, waiting=executor.waiting,
                    gather=executor._gather)
    lines = ["def run_step():",
             "    t = executor.step + 1"]
    for model in executor.model_objects:
        lines.append(f"    {ns.name(model, 'model')}.time_step = t")
    if any(delayed and handoffs for _, _, outputs in executor.units
           for _, delayed, handoffs, *_ in outputs):
        lines += ["    carried = executor.carried",
                  "    executor.carried = carry = []",
                  "    for port, data in carried:  # delayed handoffs of the step before",
                  "        port._data = data"]
    lines.append("    clock = perf_counter()")
    for k, (unit, gathered, outputs) in enumerate(executor.units):
        lines += _unit_lines(ns, k, unit, gathered, outputs)
    if executor.uses_management:
        lines.append(f"    {ns.name(executor.management.run, 'manage')}(t)")
    for hosted in executor.var_probing:
        model = ns.name(hosted.model, "model")
        for store, name in hosted.var_probes:
            lines += _record_lines(ns, store, False, f"getattr({model}, {name!r})")
    for partition in executor.partitions:
        lines.append(f"    {ns.name(partition, 'partition')}.record_probes(t)")
    if executor.controller_words_out:
        lines.append("    executor._send_run_requests(t)")
    lines += ["    executor.step = t",
              "    return t"]
    source = "\n".join(lines) + "\n"
    scope = dict(ns.objects)
    exec(compile(source, "<lava_lite step>", "exec"), scope)  # noqa: S102 (our own code)
    return scope["run_step"], source


def _unit_lines(ns: _Namespace, k: int, unit, gathered: list, outputs: list) -> list[str]:
    name = ns.name(unit, "unit")
    sends_remote = any(remote for *_, remote, _ in outputs)
    lines = [f"    # {getattr(unit, 'spec', unit).name!r}"]
    if gathered:
        lines += [f"    gather({ns.name(gathered, 'inputs')}, t)",
                  "    now = perf_counter()",
                  f"    waiting[{k}] += now - clock",
                  "    clock = now"]
    if sends_remote:
        lines.append("    blocked = 0.0  # seconds sends waited for a receiver that was behind")
    index = unit.progress_index
    index = index if isinstance(index, int) else ns.name(index, "members")
    lines += ["    try:",
              f"        {ns.name(unit.run_spk, 'run')}()",
              "    except (Exception, SystemExit):",
              f"        raise {name}.failure('run_spk', t) from None",
              f"    progress[{index}] = t"]
    for port, delayed, handoffs, inboxed, remote, probes in outputs:
        lines += _output_lines(ns, name, port, delayed, handoffs, inboxed, remote, probes)
    lines.append("    now = perf_counter()")
    if sends_remote:  # time blocked on a slow receiver counts as waiting
        lines += [f"    computing[{k}] += now - clock - blocked",
                  f"    waiting[{k}] += blocked"]
    else:
        lines.append(f"    computing[{k}] += now - clock")
    lines.append("    clock = now")
    return lines


def _output_lines(ns: _Namespace, unit: str, port, delayed: bool, handoffs: list,
                  inboxed: list, remote: list, probes: list) -> list[str]:
    out = ns.name(port, "out")
    lines = [f"    data = {out}.pending",
             f"    {out}.pending = None"]
    if not (handoffs or inboxed or remote or probes):
        return lines  # sent to nobody: a model may skip sending on an unconnected port
    lines += ["    if data is None:",
              f"        raise {unit}.failure('run_spk', t, "
              f"missing_send.format(port={port.name!r}))"]
    arrival = "t + 1" if delayed else "t"
    for receiver, convert in handoffs:
        value = "data" if convert is None else f"{ns.name(convert, 'convert')}(data)"
        target = ns.name(receiver, "in")
        lines.append(f"    carry.append(({target}, {value}))" if delayed
                     else f"    {target}._data = {value}")
    for channel in inboxed:
        lines.append(f"    inbox[({channel}, {arrival})] = data")
    if remote:
        send = ns.name(ns.objects["executor"].transport.send, "send")
        lines += [f"    blocked += {send}({channel}, {arrival}, data)" for channel in remote]
    for store in probes:  # as received
        lines += _record_lines(ns, store, delayed, "data")
    return lines


def _record_lines(ns: _Namespace, store, delayed: bool, value: str) -> list[str]:
    """Record ``value`` as this step's row of ``store`` (the next step's, for a delayed
    port): a row assignment while the step fits the rows allocated, ``store.record`` (which
    grows them) when it does not, nothing past the probe's last step."""
    probe = ns.name(store, "probe")
    step, row = ("t + 1", "t") if delayed else ("t", "t - 1")
    if store.rolling:
        row = f"{row} % {store.slots}" if delayed else f"({row}) % {store.slots}"
    return [f"    if {step} <= {probe}.limit:",
            f"        {probe}.rows[{row}] = {value}",
            f"        {probe}.end = {step}",
            f"    elif {step} <= {probe}.last:",
            f"        {probe}.record({step}, {value})"]

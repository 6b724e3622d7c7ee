"""AbstractProcess: a Process as declared: its ports, Vars, parameters and place in the graph.

This is what the model registry and the compiler know of Processes. Running a graph is
added on top by ``lava_lite.process.Process`` (which every Process derives from), so that the
compiler and the session, which ``Process.run`` needs, never need ``lava_lite.process``: the
imports of the core point one way.

``AbstractProbingProcess`` is the declared part of an observer (a Monitor): it has no model
and asks for probes on others, which the compiler turns into recordings where they run.
"""
from __future__ import annotations

import functools
import inspect
import itertools

from lava_lite.members import ProcessMember, check_name_length

#: Creation counter: every Process gets the next number as its ``_creation_index``, which
#: orders the graph and tells the compiler which Processes a SubProcessModel created.
process_ids = itertools.count()


def _reject_unknown_keywords(init):
    """Wrap a Process ``__init__`` so an unknown keyword names the Process and the key."""
    signature = inspect.signature(init)
    if any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        return init
    accepted = [n for n, p in signature.parameters.items()
                if n != "self" and p.kind is not p.VAR_POSITIONAL]

    @functools.wraps(init)
    def checked_init(self, *args, **kwargs):
        unknown = sorted(k for k in kwargs if k not in signature.parameters)
        if unknown:
            raise TypeError(
                f"{type(self).__name__}: unknown parameter{'s' if len(unknown) > 1 else ''} "
                f"{', '.join(map(repr, unknown))}; accepted: {', '.join(accepted)}")
        try:
            init(self, *args, **kwargs)
        except (TypeError, ValueError) as exc:
            # e.g. a Var whose init does not fit its shape: say which Process was being built,
            # unless the message does already; keep the traceback to the failing line.
            name, kind, text = self.__dict__.get("name"), type(self).__name__, str(exc)
            named_already = text.startswith(("Process '", f"{kind}:")) or bool(name) and (
                f"'{name}'" in text or text.startswith((f"{name}:", f"{name}.")))
            if type(exc) not in (TypeError, ValueError) or named_already:
                raise
            where = f"Process '{name}' ({kind})" if name else kind
            raise type(exc)(f"{where}: {text}").with_traceback(exc.__traceback__) from None

    return checked_init


class AbstractProcess:
    """Ports and Vars declared as attributes, ``proc_params``, a name, and the links to the
    graph the compiler walks (observers, VarPorts made by RefPorts).

    Parameters
    ----------
    name : str, optional
        Unique within its graph; default ``"<Class>_<creation index>"``.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _reject_unknown_keywords(cls.__dict__["__init__"])

    def __init__(self, *, name: str | None = None):
        object.__setattr__(self, "_members", {})
        self._creation_index = next(process_ids)
        if name is not None and (not isinstance(name, str) or not name):
            raise TypeError(f"{type(self).__name__}: name must be a non-empty string, "
                            f"got {name!r}")
        if name is not None:
            check_name_length(name, "name", type(self).__name__)
        self.name = name or f"{type(self).__name__}_{self._creation_index}"
        self.proc_params: dict = {}
        self._observers: list[AbstractProcess] = []  # probing Processes watching this one
        self._implicit_ports: list = []  # VarPorts made by RefPort.connect_var

    def __setattr__(self, key, value):
        if isinstance(value, ProcessMember):
            members = self.__dict__.get("_members")
            if members is None:
                raise RuntimeError(f"{type(self).__name__}: call super().__init__() before "
                                   f"declaring ports and Vars")
            if value.process is not None and value.process is not self:
                raise ValueError(f"{value.qualified_name} already belongs to another Process")
            value.attach(self, key)
            members[key] = value
        object.__setattr__(self, key, value)

    # -- introspection ---------------------------------------------------------------------
    @property
    def members(self) -> dict[str, ProcessMember]:
        """Ports and Vars by attribute name, in declaration order."""
        return dict(self._members)

    def members_of(self, kind: type) -> dict[str, ProcessMember]:
        """The members that are instances of ``kind``, by attribute name.

        Parameters
        ----------
        kind : type
            A member class (``Var``, ``InPort``, ``AbstractPort``, ...).
        """
        return {n: m for n, m in self._members.items() if isinstance(m, kind)}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} '{self.name}'>"


class AbstractProbingProcess(AbstractProcess):
    """The declared part of a host-side observer (``lava_lite.probing.ProbingProcess``).

    Parameters
    ----------
    name : str, optional
        As for any Process.
    """

    def __init__(self, *, name: str | None = None):
        super().__init__(name=name)
        # (member, options): options are the fields of the probe's ProbePlan (num_steps, buffer)
        self._probe_requests: list[tuple] = []

    def _add_probe(self, member, **options) -> None:
        """Ask for ``member`` (a Var or OutPort) to be recorded with ProbePlan ``options``."""
        self._probe_requests.append((member, options))
        member.process._observers.append(self)

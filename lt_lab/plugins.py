"""Where the registries' entries come from: the modules that register, loaded when needed.

The engine looks things up by name: config kinds (:data:`lt_lab.config.KINDS`), losses
(:mod:`lt_lab.losses`), analyses (:mod:`lt_lab.hooks`), and in :mod:`lt_lab.grid` the
runners of each kind, the packed trainers and the launchers. The method families, the
classification trainer, packing and the SLURM launcher fill those registries when they are
imported. Nothing imports them for their side effect: each registry is a
:class:`Registered` mapping that, when a name is not found in it (or when it is listed),
imports the modules of its group (:data:`PROVIDERS`) once and looks again. So ``import
lt_lab.config`` loads neither SLURM nor packing, and a name registered anywhere is still
found from a fresh process.

The groups are named here, as strings, as a package's entry points would be: the engine
knows where its plugins live, not what they contain (its modules import no family).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping

PROVIDERS = {
    # every config kind, loss, analysis and run kind of the book
    "families": ("lt_lab.train", "lt_lab.reweighting", "lt_lab.margins", "lt_lab.decoupling",
                 "lt_lab.collapse", "lt_lab.regression", "lt_lab.beyond"),
    "packers": ("lt_lab.pack",),  # the packed trainer of classification runs
    "launchers": ("lt_lab.launch",),  # "slurm"
}
_loaded: set[str] = set()


def load(group: str = "families") -> None:
    """Import the modules of ``group`` (:data:`PROVIDERS`), once: they register."""
    if group in _loaded:
        return
    _loaded.add(group)  # first: a module that looks a name up while loading loads no more
    try:
        for module in PROVIDERS[group]:
            importlib.import_module(module)
    except BaseException:
        _loaded.discard(group)
        raise


class Registered(MutableMapping):
    """A registry by name, filled by the modules of ``group`` when first needed.

    Registering (``registry[name] = entry``) loads nothing; a name not found, and listing
    the names (iterating, ``len``), load the group first. :meth:`registered` looks without
    loading: for a module that registers while its group loads.
    """

    def __init__(self, group: str):
        if group not in PROVIDERS:
            raise KeyError(f"no plugin group {group!r}; known: {', '.join(PROVIDERS)}")
        self.group = group
        self._entries: dict = {}

    def __getitem__(self, name):
        if name not in self._entries:
            load(self.group)
        return self._entries[name]

    def __setitem__(self, name, entry) -> None:
        self._entries[name] = entry

    def __delitem__(self, name) -> None:
        del self._entries[name]

    def __iter__(self) -> Iterator:
        load(self.group)
        return iter(self._entries)

    def __len__(self) -> int:
        load(self.group)
        return len(self._entries)

    def registered(self, name):
        """The entry registered as ``name`` so far, or None; loads nothing."""
        return self._entries.get(name)

    def __repr__(self) -> str:
        return f"Registered({self.group!r}, {sorted(self._entries)})"

"""Keep confirmatory numbers out of sight until their chapter's set is whole (issue 29, D1).

Every tool that prints a record's metrics (``lt-lab results``, ``lt-lab grid``) asks
:func:`hidden` first: a record that is a declared confirmatory run of a chapter whose declared
runs are not all stored yet shows no number, only that it is confirmatory.
"""

from __future__ import annotations

from functools import cache

HIDDEN = "confirmatory: hidden until its chapter's runs are all stored"


@cache
def _chapters_by_key() -> dict[str, tuple[str, tuple[str, ...]]]:
    """``{run key: (chapter, every key of that chapter's declared runs)}``."""
    from lt_lab.book.confirmatory import DECLARATIONS, declared
    from lt_lab.book.confirmatory.verdicts import declared_runs

    found = {}
    for name in DECLARATIONS:
        claims = declared(name)
        for chapter in {c.chapter for c in claims}:
            keys = tuple(declared_runs([c for c in claims if c.chapter == chapter]))
            for key in keys:
                found[key] = (chapter, keys)
    return found


def hidden(record: dict, store) -> bool:
    """Whether ``record``'s numbers must not be shown yet (see the module docstring)."""
    entry = _chapters_by_key().get(record.get("key"))
    if entry is None:
        return False
    return not all(store.path(key).exists() for key in entry[1])

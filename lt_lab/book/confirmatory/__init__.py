"""The confirmatory edition (issues 28 and 29): claims declared, then fresh seeds, one look.

Everything the book ran before a declaration is *exploratory*: its verdicts stay in the
chapters, labelled so. A declaration (:mod:`lt_lab.book.confirmatory.edition1`, ...) fixes
for each counted claim its arms, fresh seeds, measure, design and levels; its lock
(:mod:`lt_lab.book.confirmatory.lock`) hashes them; ``book/confirmatory.json`` names the
commit that declared them. Part 2 trains the declared runs from a clean checkout of that
commit and calls :func:`confirmatory_verdicts` once, when every run is stored.
"""

from lt_lab.book.confirmatory.plan import SEEDS, THREADS, Arm, Registered, arm_list
from lt_lab.book.confirmatory.verdicts import confirmatory_verdicts, judge, status

DECLARATIONS = {"edition-1": "lt_lab.book.confirmatory.edition1",  # name → module with CLAIMS
                "edition-2": "lt_lab.book.confirmatory.edition2",
                "edition-3": "lt_lab.book.confirmatory.edition3",
                "edition-4": "lt_lab.book.confirmatory.edition4",
                "edition-5": "lt_lab.book.confirmatory.edition5"}


def declared(name: str = "edition-1"):
    """The claims of declaration ``name``."""
    import importlib

    return importlib.import_module(DECLARATIONS[name]).CLAIMS


def superseded_by(name: str, chapter: str) -> str | None:
    """The later declaration that re-declares ``chapter``'s claims of declaration ``name``
    before any of their runs existed (its module's ``SUPERSEDES``: edition-5 re-declares
    edition-1's chapters 0-3 and 4b in fp32), or None. A superseded part is withdrawn before
    its first record: it is neither trained, judged nor counted."""
    import importlib

    for later in DECLARATIONS:
        supersedes = getattr(importlib.import_module(DECLARATIONS[later]), "SUPERSEDES", {})
        if chapter in supersedes.get(name, ()):
            return later
    return None


def live(name: str, chapter: str | None = None) -> list:
    """The claims of declaration ``name`` (of ``chapter``, if given) that no later
    declaration supersedes."""
    return [c for c in declared(name) if (chapter is None or c.chapter == chapter)
            and superseded_by(name, c.chapter) is None]


def declaration_of(chapter: str) -> str:
    """The first declaration whose live claims belong to ``chapter`` (edition-1: chapters 4
    and 5; edition-5: chapters 0-3 and 4b, which it re-declared; edition-2: chapter 6, whose
    parts F2 and F3 edition-3 and edition-4 declare later); a ConfigError naming the declared
    chapters for any other."""
    from lt_lab.errors import check_choice

    for name in DECLARATIONS:
        if live(name, chapter):
            return name
    check_choice("chapter", chapter,
                 sorted({c.chapter for name in DECLARATIONS for c in declared(name)}))
    raise AssertionError(chapter)  # check_choice raised


def chapter_declared(chapter: str, name: str | None = None) -> list:
    """The claims declaration ``name`` makes about ``chapter`` (None: every declaration's live
    claims, in order; a chapter may be declared in parts, as chapter 6 is by edition-2,
    edition-3 and edition-4)."""
    if name:
        return [c for c in declared(name) if c.chapter == chapter]
    claims = [c for n in DECLARATIONS for c in live(n, chapter)]
    if not claims:
        declaration_of(chapter)  # raises, naming the declared chapters
    return claims


__all__ = ["SEEDS", "THREADS", "Arm", "Registered", "arm_list", "chapter_declared",
           "confirmatory_verdicts", "declaration_of", "declared", "judge", "live", "status",
           "superseded_by"]

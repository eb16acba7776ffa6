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
                "edition-4": "lt_lab.book.confirmatory.edition4"}


def declared(name: str = "edition-1"):
    """The claims of declaration ``name``."""
    import importlib

    return importlib.import_module(DECLARATIONS[name]).CLAIMS


def declaration_of(chapter: str) -> str:
    """The first declaration whose claims belong to ``chapter`` (edition-1: chapters 0-5;
    edition-2: chapter 6, whose part F2 edition-3 declares later); a ConfigError naming the
    declared chapters for any other."""
    from lt_lab.errors import check_choice

    for name in DECLARATIONS:
        if any(c.chapter == chapter for c in declared(name)):
            return name
    check_choice("chapter", chapter,
                 sorted({c.chapter for name in DECLARATIONS for c in declared(name)}))
    raise AssertionError(chapter)  # check_choice raised


def chapter_declared(chapter: str, name: str | None = None) -> list:
    """The claims declaration ``name`` makes about ``chapter`` (None: every declaration's, in
    order; a chapter may be declared in parts, as chapter 6 is by edition-2 and edition-3)."""
    names = [name] if name else [n for n in DECLARATIONS
                                 if any(c.chapter == chapter for c in declared(n))]
    if not names:
        declaration_of(chapter)  # raises, naming the declared chapters
    return [c for n in names for c in declared(n) if c.chapter == chapter]


__all__ = ["SEEDS", "THREADS", "Arm", "Registered", "arm_list", "chapter_declared",
           "confirmatory_verdicts", "declaration_of", "declared", "judge", "status"]

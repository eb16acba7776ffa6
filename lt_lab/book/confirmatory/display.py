"""The declaration as the ledger page shows it (display only: not hashed, free to change)."""

from __future__ import annotations

from lt_lab.book.confirmatory.plan import SEEDS, THREADS
from lt_lab.book.confirmatory.verdicts import declared_runs

MARKER = "<!-- confirmatory-plan -->"
DESIGN_TEXT = {"directional": "directional", "superiority": "superiority",
               "non_inferiority": "non-inferiority", "no_effect": "no effect",
               "ratio": "ratio", "spread": "spread (REML)", "count": "count (binomial)"}


def _levels_text(claim) -> str:
    levels = claim.levels
    if claim.design == "no_effect":
        return f"within ±{levels['margin']:g} {claim.unit}".rstrip()
    if claim.design == "non_inferiority":
        return f"δ = {levels['delta']:g} {claim.unit} ({levels['delta_source']})"
    if claim.design == "count":
        return f"p0 = {levels['p0']:.3g}"
    sign = levels.get("direction", ">")
    return f"T {sign} {levels['threshold']:g}, P {levels.get('partly', levels['threshold']):g}"


def _seeds_text(claim) -> str:
    seeds = claim.seeds
    text = f"{seeds[0]}–{seeds[-1]}" if len(seeds) > 1 else str(seeds[0])
    return f"10 subsets × seeds {text}" if claim.design == "spread" else text


def _role_text(claim) -> str:
    if claim.role == "group member":
        return f"member of `{claim.group}`'s group"
    return claim.role


def plan_table(claims) -> str:
    """One row a declared claim: chapter, role, the statement with its source, regime, n and
    seeds, design and levels, the book's label and what the repair did."""
    from lt_lab.book.times import markdown_table

    rows = [[c.chapter.split("_")[0], f"`{c.id}`", _role_text(c),
             f"{c.statement} *Source:* {c.source}", c.regime, f"{c.n} ({_seeds_text(c)})",
             f"{DESIGN_TEXT[c.design]}: {_levels_text(c)}", c.label or "—", c.action]
            for c in claims]
    heads = ["ch.", "claim", "role", "statement (the paper's) and source", "regime",
             "n (seeds)", "design and levels", "what the book adds", "repair"]
    counted = sum(c.role == "counted" for c in claims)
    lead = (f"{len(claims)} claim-regimes are declared; {counted} are counted, a group's "
            f"members counting once through its primary. They read "
            f"{len(declared_runs(claims))} runs at fresh seeds ({SEEDS['quick'][0]}–"
            f"{SEEDS['quick'][-1]} at `quick`, {SEEDS['long'][0]}–{SEEDS['long'][-1]} at "
            f"`long`), {THREADS} thread a run, a fresh long-tailed subset per seed.")
    return lead + "\n\n" + markdown_table(heads, rows)


DECLARATION_MARKER = "<!-- confirmatory-declaration -->"


def declaration_text() -> str:
    """Which commit declared what, as ``book/confirmatory.json`` names it."""
    from lt_lab.book.confirmatory.lock import declarations

    entries = declarations()
    if not entries:
        return "*No declaration is committed yet: every verdict in this book is exploratory.*"
    return "\n".join(f"- **{e['name']}**: declared by commit `{e['commit'][:12]}` on "
                     f"{e['time']} ({e.get('chapters', 'chapters 0–5')})." for e in entries)


def fill_page(page) -> None:
    """Replace the pre-registration page's markers by the declaration and its plan."""
    from lt_lab.book.confirmatory import declared

    text = page.read_text().replace(DECLARATION_MARKER, declaration_text())
    page.write_text(text.replace(MARKER, plan_table(declared())))

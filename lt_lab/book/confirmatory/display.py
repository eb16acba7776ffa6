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


# --- a chapter's confirmatory verdicts (issue 29, D2) --------------------------------------

def _raw(claim, value: float | None) -> float | None:
    """A signed value (the designs' scale, claimed direction positive) back in the claim's
    own unit."""
    if value is None:
        return None
    levels = claim.levels
    null = levels.get("null", 0.0)
    return null - value if levels.get("direction", ">") == "<" else null + value


def _estimate_text(claim, outcome) -> str:
    est = outcome.estimate
    if est is None:
        missing = outcome.numbers.get("missing")
        return f"{len(missing)} runs missing" if missing else "—"
    if claim.design == "count":
        return f"{outcome.numbers['k']} of {outcome.numbers['n']} seeds"
    if claim.design in ("directional", "superiority"):
        low, high = sorted((_raw(claim, est.low), _raw(claim, est.high))) \
            if est.low is not None else (None, None)
        mean = _raw(claim, est.mean)
    else:
        mean, low, high = est.mean, est.low, est.high
    interval = f" [{low:.2f}, {high:.2f}]" if low is not None else ""
    return f"{mean:.2f}{interval} n={est.n}"


def verdict_rows(claims, outcomes: dict, exploratory: dict | None = None) -> list[dict]:
    """One row a claim: its role, design and levels, the confirmatory verdict with its
    estimate and p, and the exploratory verdict beside it (``exploratory``: id → verdict)."""
    rows = []
    for c in claims:
        outcome = outcomes[f"{c.id}@{c.regime}"]
        marks = f" ({', '.join(outcome.marks)})" if outcome.marks else ""
        rows.append({"claim": c.id, "role": _role_text(c), "regime": c.regime,
                     "design and levels": f"{DESIGN_TEXT[c.design]}: {_levels_text(c)}",
                     "confirmatory verdict": outcome.verdict + marks,
                     "estimate [95 % interval]": _estimate_text(c, outcome),
                     "p": f"{outcome.numbers.get('p', float('nan')):.3g}",
                     "exploratory verdict": (exploratory or {}).get(c.id, "—")})
    return rows


def chapter_verdicts(chapter: str, store=None, name: str = "edition-1"):
    """``(claims, outcomes or Status)`` of ``chapter`` in declaration ``name``."""
    from lt_lab.book.confirmatory import confirmatory_verdicts, declared
    from lt_lab.book.confirmatory.lock import declarations
    from lt_lab.results import ResultsStore

    claims = [c for c in declared(name) if c.chapter == chapter]
    closed = next((e.get("closed") for e in declarations() if e["name"] == name), None)
    return claims, confirmatory_verdicts(claims, store or ResultsStore(), closed=closed)


def print_chapter(chapter: str, exploratory: dict | None = None, store=None) -> None:
    """The chapter's confirmatory verdicts, one line each (the cell nbval checks), or only
    how many of its declared runs are stored."""
    claims, outcomes = chapter_verdicts(chapter, store)
    if not isinstance(outcomes, dict):
        print(outcomes.text())
        return
    for row in verdict_rows(claims, outcomes, exploratory):
        print(f"{row['claim']:32s} {row['role'][:12]:12s} {row['confirmatory verdict']:16s} "
              f"{row['estimate [95 % interval]']:28s} p={row['p']:8s} "
              f"(exploratory: {row['exploratory verdict']})")


def show_chapter(chapter: str, exploratory: dict | None = None, store=None):
    """The same as a table for the page (a DataFrame), or the stored-runs count."""
    import pandas as pd

    claims, outcomes = chapter_verdicts(chapter, store)
    if not isinstance(outcomes, dict):
        print(outcomes.text())
        return None
    return pd.DataFrame(verdict_rows(claims, outcomes, exploratory)).set_index("claim")


def simulator_table(claim_id: str = "ldt-restores-symmetry", store=None):
    """A simulator claim's runs, one row a problem instance (R): each loss's distance of the
    classifier from a simplex ETF (the larger of its equiangularity and equinorm), averaged
    over the random starts — or None while the chapter's runs are not all stored."""
    import pandas as pd

    from lt_lab.book.confirmatory import declared
    from lt_lab.book.confirmatory.verdicts import _runs
    from lt_lab.results import ResultsStore

    claim = next(c for c in declared() if c.id == claim_id)
    store = store or ResultsStore()
    _, outcomes = chapter_verdicts(claim.chapter, store)
    if not isinstance(outcomes, dict):
        return None
    runs = _runs(claim, store)

    def distance(records):
        return sum(max(r["metrics"]["equiangularity_classifier"],
                       r["metrics"]["equinorm_classifier"]) for r in records) / len(records)

    rows = {f"R = {max(arm.overrides['class_counts']) / min(arm.overrides['class_counts']):g}":
            {"CE": distance(a), "LDT, Δ = √R": distance(b)}
            for arm, a, b in zip(claim.arms["a"], runs["a"], runs["b"], strict=True)}
    return pd.DataFrame(rows).T.rename_axis("problem instance")

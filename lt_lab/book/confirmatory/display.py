"""The declaration as the ledger page shows it (display only: not hashed, free to change)."""

from __future__ import annotations

from lt_lab.book.confirmatory.plan import DESIGN_TEXT, SEEDS, THREADS
from lt_lab.book.confirmatory.verdicts import declared_runs
from lt_lab.errors import ConfigError

MARKER = "<!-- confirmatory-plan -->"

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


ROLE_WORD = {"counted": "counted", "group member": "member", "descriptive": "descriptive",
             "ours": "ours"}  # one word, so the prose check reads the verdict cell's lines


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
    ranges = {}
    for c in claims:
        seeds = getattr(c, "seed_range", ()) or SEEDS[c.regime]
        ranges.setdefault(c.regime, f"{seeds[0]}–{seeds[-1]} at `{c.regime}`")
    lead = (f"{len(claims)} claim-regimes are declared; {counted} are counted, a group's "
            f"members counting once through its primary. They read "
            f"{len(declared_runs(claims))} runs at fresh seeds ({', '.join(ranges.values())}"
            f"), {THREADS} thread a run, a fresh long-tailed subset per seed.")
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
    """Replace the pre-registration page's markers by the declarations and their plans (one
    table a declaration, headed by its name)."""
    from lt_lab.book.confirmatory import DECLARATIONS

    text = page.read_text().replace(DECLARATION_MARKER, declaration_text())
    plans = "\n\n".join(f"**{name}.** {_plan(name)}" for name in DECLARATIONS)
    page.write_text(text.replace(MARKER, plans))


def _plan(name: str) -> str:
    """Declaration ``name``'s plan table over its live claims, after a line naming the
    chapters a later declaration re-declared (withdrawn here before their first run)."""
    from lt_lab.book.confirmatory import declared, live, superseded_by

    gone = {}
    for claim in declared(name):
        if (later := superseded_by(name, claim.chapter)) is not None:
            gone.setdefault(later, []).append(claim.chapter)
    notes = "".join(f"Chapters {', '.join(dict.fromkeys(c.split('_')[0] for c in chapters))}: "
                    f"re-declared by {later} before any of their runs existed, and withdrawn "
                    f"here. " for later, chapters in gone.items())
    return notes + plan_table(live(name))


# --- a chapter's confirmatory verdicts (issue 29, D2) --------------------------------------

def _raw(claim, value: float | None) -> float | None:
    """A signed value (the designs' scale, claimed direction positive) back in the claim's
    own unit."""
    if value is None:
        return None
    levels = claim.levels
    null = levels.get("null", 0.0)
    return null - value if levels.get("direction", ">") == "<" else null + value


def _withheld(what: str, est) -> str:
    """The values that made a claim not applicable: its gate's, or its assay's."""
    interval = f" [{est.low:.2f}, {est.high:.2f}]" if est.low is not None else ""
    return f"{what}: {est.mean:.2f}{interval} n={est.n}"


def _estimate_text(claim, outcome) -> str:
    if outcome.verdict.startswith("not applicable") and "reference_gain" in outcome.numbers:
        return _withheld("assay", outcome.numbers["reference_gain"])  # non-inferiority's
    if outcome.verdict.startswith("not applicable") and outcome.estimate is not None:
        return _withheld("gate", outcome.estimate)  # the gate's own values, not the claim's
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
        rows.append({"claim": c.id, "role": _role_text(c), "regime": c.regime, "unit": c.unit,
                     "design and levels": f"{DESIGN_TEXT[c.design]}: {_levels_text(c)}",
                     "confirmatory verdict": outcome.verdict + marks,
                     "estimate [95 % interval]": _estimate_text(c, outcome),
                     "p": f"{outcome.numbers.get('p', float('nan')):.3g}",
                     "exploratory verdict": (exploratory or {}).get(c.id, "—")})
    return rows


def chapter_verdicts(chapter: str, store=None, name: str | None = None):
    """``(claims, outcomes or Status)`` of ``chapter`` in declaration ``name`` (None: the
    one that declares the chapter, :func:`declaration_of`)."""
    from lt_lab.book.confirmatory import confirmatory_verdicts, declaration_of, declared
    from lt_lab.book.confirmatory.lock import declarations
    from lt_lab.results import ResultsStore

    name = name or declaration_of(chapter)
    claims = [c for c in declared(name) if c.chapter == chapter]
    closed = next((e.get("closed") for e in declarations() if e["name"] == name), None)
    return claims, confirmatory_verdicts(claims, store or ResultsStore(), closed=closed)


def print_chapter(chapter: str, exploratory: dict | None = None, store=None,
                  name: str | None = None) -> None:
    """The chapter's confirmatory verdicts in declaration ``name`` (None: the first that
    declares it), one line each (the cell nbval checks), or only how many of its declared
    runs are stored."""
    claims, outcomes = chapter_verdicts(chapter, store, name)
    if not isinstance(outcomes, dict):
        print(outcomes.text())
        return
    roles = {c.id: ROLE_WORD[c.role] for c in claims}
    for row in verdict_rows(claims, outcomes, exploratory):
        verdict = row["confirmatory verdict"]
        verdict = "not applicable" if verdict.startswith("not applicable") else verdict
        print(f"{row['claim']:32s} {roles[row['claim']]:12s} {verdict:16s} "
              f"{row['estimate [95 % interval]']:28s} p={row['p']:8s} "
              f"(exploratory: {row['exploratory verdict']})")


COMPACT = ("role", "confirmatory verdict", "estimate [95 % interval]", "unit", "p",
           "exploratory verdict")  # the page's columns; the levels are on the prereg page


def show_chapter(chapter: str, exploratory: dict | None = None, store=None,
                 columns: tuple[str, ...] | None = None, name: str | None = None):
    """The same as a table for the page (a DataFrame; ``columns``: which, e.g.
    :data:`COMPACT`), or the stored-runs count."""
    import pandas as pd

    claims, outcomes = chapter_verdicts(chapter, store, name)
    if not isinstance(outcomes, dict):
        print(outcomes.text())
        return None
    table = pd.DataFrame(verdict_rows(claims, outcomes, exploratory)).set_index("claim")
    if columns is None:
        return table
    table["role"] = [ROLE_WORD[c.role] for c in claims]  # one word: the group is on the prereg page
    table["confirmatory verdict"] = [v.split(":")[0] for v in table["confirmatory verdict"]]
    return table[list(columns)]


def simulator_table(claim_id: str = "ldt-restores-symmetry", store=None):
    """A simulator claim's runs, one row a problem instance (R): each loss's distance of the
    classifier from a simplex ETF (the larger of its equiangularity and equinorm), averaged
    over the random starts — or None while the chapter's runs are not all stored."""
    import pandas as pd

    from lt_lab.book.confirmatory import declared
    from lt_lab.book.confirmatory.verdicts import _runs
    from lt_lab.results import ResultsStore

    claim = next(c for c in declared("edition-1") if c.id == claim_id)
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


# --- the confirmatory verdicts as the book's claims: forest plots and the headline ---------

def _values(claim, store, runs: dict | None = None) -> tuple[float, ...]:
    """The per-seed values of a claim whose design judges a mean, in the claim's own unit
    (the hollow dots of a forest plot), from ``runs`` (role → records) or the store's
    confirmatory runs; none for the other designs."""
    from lt_lab.book.confirmatory.measures import MEASURES
    from lt_lab.book.confirmatory.verdicts import _runs

    if claim.design not in ("directional", "superiority", "no_effect", "non_inferiority"):
        return ()
    params = {k: v for k, v in claim.params.items() if k != "assay"}
    try:
        return tuple(float(v) for v in MEASURES[claim.measure](
            runs if runs is not None else _runs(claim, store), **params))
    except (KeyError, TypeError, ValueError):
        return ()


def as_claim(claim, outcome, store, runs: dict | None = None,
             not_applicable_estimate: bool = False):
    """A declared claim and its confirmatory outcome as a :class:`lt_lab.book.claims.Claim`
    (checked), so that the book's forest plots and tables draw it: its mean, interval, n and
    per-seed values in its own unit, its levels and its verdict (``runs``: the records the
    outcome was judged on, when not the store's confirmatory ones). A claim that is not
    applicable has no estimate of its own (its outcome's is the gate's), unless
    ``not_applicable_estimate``: then its own measure's, drawn beside the verdict "not
    applicable" for the reader to see what the gate withheld."""
    from dataclasses import replace

    from lt_lab.book import designs
    from lt_lab.book.claims import from_registered

    est, signed = outcome.estimate, True
    if outcome.verdict.startswith("not applicable"):
        est = None  # its estimate is the gate's, on another measure: nothing to draw
        own = _values(claim, store, runs) if not_applicable_estimate else ()
        if own:
            est, signed = designs.estimate(list(own)), False
    low, high = est and est.low, est and est.high
    mean = est and est.mean
    if claim.design in ("directional", "superiority") and est is not None and signed:
        mean = _raw(claim, est.mean)
        if est.low is not None:
            low, high = sorted((_raw(claim, est.low), _raw(claim, est.high)))
    return replace(
        from_registered(claim),
        digits=3 if est is not None and est.low is not None and est.high - est.low < 0.05 else 2,
        measured=mean, low=low, high=high, spread=est.sd if est is not None else None,
        n=est.n if est is not None else 0,
        values=_values(claim, store, runs) if est is not None else (), verdict=outcome.verdict)


def pilot_claims(chapter: str, records_by_arm: dict[str, list[dict]], name: str | None = None):
    """The chapter's declared claims judged on other runs of their arms — a pilot's, or a
    chapter's exploratory seeds (``records_by_arm``: arm name → records in seed order) — as
    checked :class:`lt_lab.book.claims.Claim` s: exploratory evidence, the same measure,
    design and levels as the declaration's."""
    from dataclasses import replace

    from lt_lab.book.confirmatory import chapter_declared, declaration_of
    from lt_lab.book.confirmatory.verdicts import judge

    checked = []
    for claim in chapter_declared(chapter, name or declaration_of(chapter)):
        runs = {role: ([records_by_arm[a.name] for a in value]
                       if isinstance(value, (list, tuple)) else records_by_arm[value.name])
                for role, value in claim.arms.items()}
        found = as_claim(claim, judge(claim, runs), None, runs, not_applicable_estimate=True)
        short = "not applicable" if found.verdict.startswith("not applicable") else None
        checked.append(replace(found, verdict=short) if short else found)
    return checked


def chapter_claims(chapter: str, store=None, not_applicable_estimate: bool = False,
                   name: str | None = None):
    """The chapter's confirmatory verdicts (in declaration ``name``; None: the first that
    declares it) as checked claims (:func:`as_claim`), or the :class:`Status` while its
    runs are not all stored."""
    from lt_lab.results import ResultsStore

    store = store or ResultsStore()
    claims, outcomes = chapter_verdicts(chapter, store, name)
    if not isinstance(outcomes, dict):
        return outcomes
    return [as_claim(c, outcomes[f"{c.id}@{c.regime}"], store,
                     not_applicable_estimate=not_applicable_estimate) for c in claims]


def arm_records(chapter: str, store=None, name: str | None = None) -> dict | None:
    """``{arm name: records at the declared seeds}`` of the chapter's confirmatory runs in
    declaration ``name`` (None: the first that declares it), or None while its declared runs
    are not all stored (no number is read before the look)."""
    from lt_lab.book.confirmatory import chapter_declared, declaration_of, status
    from lt_lab.book.confirmatory.plan import _arms
    from lt_lab.results import ResultsStore

    store = store or ResultsStore()
    claims = chapter_declared(chapter, name or declaration_of(chapter))
    if not status(claims, store).complete:
        return None
    found = {}
    for claim in claims:
        for arm in _arms(claim.arms):
            found.setdefault(arm.name, [store.load(arm.config(seed)) for seed in claim.seeds])
    return found


CONFIRMATORY_LABEL = "confirmatory: fresh seeds {}"
EXPLORATORY_LABEL = "exploratory: the chapter's seeds"


def forest(chapter: str, exploratory=None, store=None, not_applicable_estimate: bool = False,
           name: str | None = None):
    """One forest plot of the chapter's confirmatory verdicts (circles), with each claim's
    exploratory verdict (``exploratory``: the chapter's checked claims) drawn under it
    (squares): the figure, or None (printing the stored-runs count) while the chapter's runs
    are not all stored. ``not_applicable_estimate``: draw a not-applicable claim's own
    estimate too (:func:`as_claim`)."""
    from lt_lab.book.claims import forest_plot

    checked = chapter_claims(chapter, store, not_applicable_estimate, name)
    if not isinstance(checked, list):
        print(checked.text())
        return None
    seeds = sorted({s for c in chapter_verdicts(chapter, store, name)[0] for s in c.seeds})
    extra = {EXPLORATORY_LABEL: list(exploratory)} if exploratory is not None else None
    return forest_plot(checked, columns=extra,
                       label=CONFIRMATORY_LABEL.format(f"{seeds[0]}–{seeds[-1]}"))


HEADLINE_MARKER = "<!-- confirmatory-headline -->"  # the sentence and the table (ledger)
HEADLINE_SENTENCE_MARKER = "<!-- confirmatory-headline-sentence -->"  # the sentence (intro)
OUTCOMES = ("reproduced", "partly", "inconclusive", "not reproduced")


def _declared(name: str | None) -> list:
    """The live claims of declaration ``name``, or of every declaration (None), in order."""
    from lt_lab.book.confirmatory import DECLARATIONS, live

    return [c for n in ([name] if name else DECLARATIONS) for c in live(n)]


def headline_rows(store=None, name: str | None = None) -> list[dict]:
    """One row a declared chapter (of declaration ``name``; None: of every declaration): its
    counted claims (a group once, through its primary), how many got each verdict (the rest:
    not applicable, not run, not judged), or only how many of its runs are stored."""
    from lt_lab.book.confirmatory import DECLARATIONS, live
    from lt_lab.results import ResultsStore

    store = store or ResultsStore()
    rows = []
    for each in ([name] if name else DECLARATIONS):
        for chapter in dict.fromkeys(c.chapter for c in live(each)):
            rows.append(_headline_row(chapter, each, store))
    return sorted(rows, key=lambda row: row["chapter"])  # a chapter's parts in declared order


def _headline_row(chapter: str, name: str, store) -> dict:
    """:func:`headline_rows`' row of ``chapter``'s claims in declaration ``name``."""
    own, outcomes = chapter_verdicts(chapter, store, name)
    counted = [c for c in own if c.role == "counted"]
    row = {"chapter": chapter, "declaration": name, "counted": len(counted),
           "descriptive": sum(c.role in ("descriptive", "ours") for c in own)}
    if not isinstance(outcomes, dict):
        return {**row, "status": outcomes.text()}
    verdicts = [outcomes[f"{c.id}@{c.regime}"].verdict for c in counted]
    row.update({v: verdicts.count(v) for v in OUTCOMES})
    row["other"] = len(verdicts) - sum(row[v] for v in OUTCOMES)
    row["outcomes"] = {f"{c.id}@{c.regime}": outcomes[f"{c.id}@{c.regime}"] for c in own}
    return {**row, "status": "all runs stored"}


def headline(store=None, name: str | None = None, table: bool = True) -> str:
    """The book's pre-registered headline: how many counted claims reproduced, over the
    chapters whose runs are all stored, with the chance line over them; then a table, a row
    a chapter."""
    from lt_lab.book.confirmatory.verdicts import chance
    from lt_lab.book.times import markdown_table

    rows = headline_rows(store, name)
    done = [r for r in rows if "outcomes" in r and r["counted"]]
    judged = sum(r["counted"] for r in done)
    total = sum(r["counted"] for r in rows)
    if not judged:
        lead = (f"No counted claim has a pre-registered verdict yet: the runs of none of the "
                f"{total} counted claims' chapters are all stored.")
    else:
        outcomes = {k: v for r in done for k, v in r["outcomes"].items()}
        claims = [c for c in _declared(name) if f"{c.id}@{c.regime}" in outcomes]
        line = chance(claims, outcomes)
        counts = ", ".join(f"{sum(r[v] for r in done)} {v}" for v in OUTCOMES)
        other = sum(r["other"] for r in done)
        lead = (f"**Under pre-registration, {sum(r['reproduced'] for r in done)} of the "
                f"{judged} counted claims judged so far reproduced** ({counts}"
                f"{f', {other} not applicable or not run' if other else ''}), in "
                f"{len({r['chapter'] for r in done})} of the "
                f"{len({r['chapter'] for r in rows if r['counted']})} chapters that "
                f"count claims; the other {total - judged} counted claims wait for their "
                f"runs. By chance alone at most about {line.expected:.1f} of these {line.k} would "
                "show their direction (the interval's lower end above 0, p < 0.025 "
                "one-sided) were no effect real; "
                f"{line.raw} {'does' if line.raw == 1 else 'do'}, {line.holm} after Holm's "
                "correction.")
    if not table:
        return lead
    heads = ["chapter", "counted", *OUTCOMES, "other", "descriptive", "runs"]
    parts = [r["chapter"] for r in rows]  # a chapter declared in parts names each part's
    table = [[f"[{r['chapter']}](../chapters/{r['chapter']}.ipynb)"
              + (f" ({r['declaration']})" if parts.count(r["chapter"]) > 1 else ""), r["counted"],
              *(r.get(v, "—") for v in OUTCOMES), r.get("other", "—"),
              r["descriptive"], r["status"]] for r in rows]
    return lead + "\n\n" + markdown_table(heads, table)


def fill_headline(page, store=None) -> None:
    """Replace a page's headline markers by :func:`headline`: the sentence and its table
    (the ledger), or the sentence alone (the introduction)."""
    text = page.read_text()
    for marker, table in ((HEADLINE_MARKER, True), (HEADLINE_SENTENCE_MARKER, False)):
        if marker in text:
            text = text.replace(marker, headline(store, table=table))
    page.write_text(text)


def gate_estimate(chapter: str, claim_id: str, store=None, name: str | None = None):
    """The mean and 95 % interval of claim ``claim_id``'s declared gate on its confirmatory
    runs (what made it applicable, or not), or None while the chapter's runs in declaration
    ``name`` are not all stored. The verdict shows the gate's values only when it failed."""
    from lt_lab.book import designs
    from lt_lab.book.confirmatory.measures import MEASURES
    from lt_lab.book.confirmatory.verdicts import _runs
    from lt_lab.results import ResultsStore

    store = store or ResultsStore()
    claims, outcomes = chapter_verdicts(chapter, store, name)
    if not isinstance(outcomes, dict):
        return None
    claim = next(c for c in claims if c.id == claim_id)
    if not claim.gate:
        raise ConfigError(f"claim {claim_id!r} declares no gate")
    runs, gate = _runs(claim, store), claim.gate
    values = MEASURES[gate["measure"]]({role: runs[source] for role, source
                                       in gate["roles"].items()}, **gate.get("params", {}))
    return designs.estimate(values, "gate")


def chapter_chance(chapter: str, store=None, name: str | None = None):
    """The chance line over a whole chapter's counted claims (:func:`verdicts.chance`) in
    declaration ``name`` (None: the first that declares it), or None while its runs are not
    all stored."""
    from lt_lab.book.confirmatory.verdicts import chance

    claims, outcomes = chapter_verdicts(chapter, store, name)
    return chance(claims, outcomes) if isinstance(outcomes, dict) else None

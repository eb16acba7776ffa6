"""The claims ledger page: every chapter's claims and verdicts, a summary, a forest plot.

Executed chapters publish their checked claims (:func:`lt_lab.book.claims.publish`); when
the site is staged, the markers of ``book/ledger.md`` are replaced by the summary (one row
per chapter, a count per verdict, sanity checks and descriptive values apart), one forest plot
per chapter (images written beside the page, stacked), one table of claims per chapter (and
one of its sanity checks) and the amendments of the claims lock. Each claim's row names when it
was declared: the first commit whose chapters contain its id (:func:`lock.declared_on`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from lt_lab.book import lock as claims_lock
from lt_lab.book.claim_tables import (
    column_cells,
    column_labels,
    escape_markdown,
    list_table,
    needs_text,
    verdict_markdown,
)
from lt_lab.book.claims import (
    NOT_YET_RUN,
    SANITY_VERDICTS,
    VERDICTS,
    Claim,
    category_text,
    from_published,
    load_published,
    published_columns,
)

LEDGER_MARKER = "<!-- claims-ledger -->"
SUMMARY_MARKER = "<!-- claims-summary -->"
FOREST_MARKER = "<!-- claims-forest -->"
AMENDMENTS_MARKER = "<!-- claims-amendments -->"
FOREST_IMAGE = "ledger_forest_{chapter}.png"  # one per chapter
COLUMNS = ("claim", "paper", "statement", "paper reported", "category", "needs",
           "declared on")  # after the verdict columns
SANITY_HEADING = "Sanity checks of this chapter (the setup behaves as expected; not counted "\
                 "as reproductions):"

History = Callable[[str], "dict | None"]


def _published(claims_dir: Path) -> list[dict]:
    return load_published(claims_dir) if claims_dir.exists() else []


def _chapter_link(chapter: dict) -> str:
    return f"[{chapter['title']}](../chapters/{chapter['chapter']}.ipynb)"


def _parameters_text(chapter: dict) -> str:
    return ", ".join(f"`{name}={json.dumps(value)}`"
                     for name, value in chapter.get("non_default_parameters", {}).items())


def non_default_note(chapter: dict) -> str:
    """The warning under a chapter's heading when its claims were made with non-default
    parameters; empty otherwise."""
    if not chapter.get("non_default_parameters"):
        return ""
    return ("```{admonition} Not the book's defaults\n:class: warning\n"
            f"These verdicts were made with {_parameters_text(chapter)}, not the chapter's "
            "defaults: they are not the book's.\n```\n")


def _claims(chapter: dict) -> list[Claim]:
    return [from_published(fields) for fields in chapter["claims"]]


# --- the summary -------------------------------------------------------------------------------


def _counts(claims: list[Claim]) -> list:
    """Per verdict, how many counted claims got it; then descriptive values; then sanity
    checks as ``passed of run``."""
    verdicts = [c.verdict for c in claims if c.category == "claim"]
    sanity = [c.verdict for c in claims if c.category == "sanity"]
    ran = [v for v in sanity if v in SANITY_VERDICTS.values()]
    return [*(verdicts.count(v) for v in VERDICTS),
            sum(c.category == "descriptive" for c in claims),
            (sanity.count(SANITY_VERDICTS["reproduced"]), len(ran))]


def _count_cells(counts: list, bold: bool = False) -> list[str]:
    passed, ran = counts[-1]
    cells = [str(n) for n in counts[:-1]] + [f"{passed} of {ran}"]
    return [f"**{cell}**" for cell in cells] if bold else cells


def _summary_table(rows_in: list[tuple[str, list[Claim] | None]]) -> list[str]:
    """The summary table of ``(chapter cell, claims or None for not yet run)`` rows, with
    the totals."""
    head = ["chapter", "claims", *VERDICTS, "descriptive", "sanity checks passed"]
    rows = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    totals = [0] * (len(VERDICTS) + 1) + [(0, 0)]
    for chapter_cell, claims in rows_in:
        if claims is None:
            rows.append(f"| {chapter_cell} | {NOT_YET_RUN} |" + " |" * (len(head) - 2))
            continue
        counts = _counts(claims)
        totals = [*(a + b for a, b in zip(totals[:-1], counts[:-1], strict=True)),
                  tuple(a + b for a, b in zip(totals[-1], counts[-1], strict=True))]
        rows.append(f"| {chapter_cell} | {sum(counts[:len(VERDICTS)])} | "
                    + " | ".join(_count_cells(counts)) + " |")
    rows.append(f"| **all chapters** | **{sum(totals[:len(VERDICTS)])}** | "
                + " | ".join(_count_cells(totals, bold=True)) + " |")
    return rows


def _chapter_cell(chapter: dict) -> str:
    mark = " (**non-default parameters**)" if chapter.get("non_default_parameters") else ""
    return _chapter_link(chapter) + mark


def render_summary(claims_dir: Path) -> str:
    """One row per chapter: how many of its claims got each verdict, its descriptive values
    and its sanity checks passed; then the totals. Then the same for each further column of
    evidence the chapters published (a chapter's claims measured again, e.g. at the papers'
    schedule), naming the column."""
    chapters = _published(claims_dir)
    if not chapters:
        return ""
    rows = _summary_table([(_chapter_cell(c), _claims(c)) for c in chapters])
    labels = dict.fromkeys(name for c in chapters for name in published_columns(c))
    for name in labels:
        measured = [(c, published_columns(c)) for c in chapters if name in published_columns(c)]
        rows += ["", f"Column *{escape_markdown(name)}* (the same claims measured again):", ""]
        rows += _summary_table([(_chapter_cell(c), None if columns[name] is None
                                 else list(columns[name].values()))
                                for c, columns in measured])
    return "\n".join(rows) + "\n"


# --- the tables --------------------------------------------------------------------------------


def _declared_text(claim_id: str, entry: dict | None, history: History) -> str:
    """``2026-11-27 (`cb8d77a`), declared with results; 1 amendment``."""
    first = history(claim_id)
    parts = ["not committed yet" if first is None else f"{first['date']} (`{first['commit']}`)"]
    if entry and entry.get("declared_with_results"):
        parts[0] += ", declared with results"
        if entry.get("with_results_note"):  # what was already stored, or seen, and how
            parts[0] += f" ({escape_markdown(entry['with_results_note'])})"
    if entry and entry.get("note"):
        parts[0] += f" ({escape_markdown(entry['note'])})"
    amendments = len(entry.get("amendments", [])) if entry else 0
    if amendments:
        parts.append(f"{amendments} amendment{'s' if amendments > 1 else ''}")
    if entry is None:
        parts.append("not in the lock")
    return "; ".join(parts)


def _claim_row(claim: Claim, columns: dict, entry: dict | None, history: History) -> list[str]:
    verdicts = [verdict_markdown(*cell) for cell in column_cells(claim, columns)]
    text = [escape_markdown(value) for value in (
        claim.id, claim.statement, claim.reported, category_text(claim), needs_text(claim))]
    # the declared-on text is ours (a date and a commit in code): markdown as written
    return [*verdicts, text[0], f"{{cite}}`{claim.paper}`", *text[1:],
            _declared_text(claim.id, entry, history)]


def claims_block(claims: list[Claim], columns: dict, label: str | None, entries: dict,
                 history: History) -> str:
    """One chapter's claims as a ``list-table``: its verdict columns first, then the claim."""
    header = [*column_labels(label, columns), *COLUMNS]
    return list_table(header, [_claim_row(c, columns, entries.get(c.id), history)
                               for c in claims])


def _cached(history: History) -> History:
    seen: dict = {}

    def lookup(claim_id: str):
        if claim_id not in seen:
            seen[claim_id] = history(claim_id)
        return seen[claim_id]

    return lookup


def render_ledger(claims_dir: Path, lock: dict | None = None,
                  history: History | None = None) -> str:
    """Markdown tables of every chapter's claims (sanity checks in a table of their own),
    linking each chapter; ``lock`` and ``history`` default to the repository's."""
    chapters = _published(claims_dir)
    if not chapters:
        return "*No chapter has published claims yet.*"
    entries = (claims_lock.load_lock() if lock is None else lock).get("claims", {})
    history = _cached(history or claims_lock.declared_on)
    blocks = []
    for chapter in chapters:
        claims, columns = _claims(chapter), published_columns(chapter)
        label = chapter.get("label")
        counted = [c for c in claims if c.category != "sanity"]
        sanity = [c for c in claims if c.category == "sanity"]
        blocks += [f"## {_chapter_link(chapter)}\n"]
        note = non_default_note(chapter)
        blocks += [note] if note else []
        if counted:
            blocks += [claims_block(counted, columns, label, entries, history), ""]
        if sanity:
            blocks += [SANITY_HEADING, "", claims_block(sanity, columns, label, entries,
                                                        history), ""]
    return "\n".join(blocks)


def render_amendments(lock: dict | None = None) -> str:
    """Every amendment and withdrawal of the claims lock, claim by claim, oldest first."""
    entries = (claims_lock.load_lock() if lock is None else lock).get("claims", {})
    lines = []
    for claim_id, entry in entries.items():
        for amendment in entry.get("amendments", []):
            changes = "; ".join(f"{name}: {old!r} → {new!r}"
                                for name, (old, new) in amendment["changes"].items())
            lines.append(f"- **{claim_id}**, {amendment['date']}: {changes}. Why: "
                         f"{amendment['reason']}")
        if entry.get("withdrawn"):
            lines.append(f"- **{claim_id}** withdrawn, {entry['withdrawn']['date']}. Why: "
                         f"{entry['withdrawn']['reason']}")
    return "\n".join(lines) + "\n" if lines else "*No claim has been amended.*\n"


# --- the forest plots --------------------------------------------------------------------------


def forest_image(chapter: dict) -> str:
    """The file name of ``chapter``'s forest plot, written beside the ledger page."""
    return FOREST_IMAGE.format(chapter=chapter["chapter"])


def write_forests(folder: Path, claims_dir: Path) -> list[tuple[dict, Path]]:
    """One forest plot per chapter that published claims, in ``folder`` (its claims and
    descriptive values, then its sanity checks apart; its further columns of evidence under
    each claim's own): ``(chapter, image)`` in the chapters' order. One column of
    :data:`lt_lab.book.forest.COLUMN_WIDTH` inches, so that its smallest text stays readable
    at the page's width."""
    chapters = [chapter for chapter in _published(claims_dir) if chapter["claims"]]
    if not chapters:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lt_lab.book.forest import forest_plot
    from lt_lab.figures import save_with_text_size

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for chapter in chapters:
        figure = forest_plot(_claims(chapter), extra=published_columns(chapter),
                             label=chapter.get("label"))
        image = folder / forest_image(chapter)
        save_with_text_size(figure, image)  # the site check reads its smallest text from it
        plt.close(figure)
        written.append((chapter, image))
    return written


def forest_figure(chapter: dict, image_name: str | None = None) -> str:
    """The MyST figure of ``chapter``'s forest plot on the ledger (class ``forest-plot``, as
    in the chapters): numbered, captioned, with alt text naming the chapter."""
    image_name = image_name or forest_image(chapter)
    title = " ".join(chapter["title"].split())
    apart = (", its sanity checks apart" if any(c.category == "sanity" for c in _claims(chapter))
             else "")
    name = "ledger-forest-" + re.sub(r"[^a-z0-9]+", "-", chapter["chapter"].lower()).strip("-")
    return (f"```{{figure}} {image_name}\n:name: {name}\n:figclass: forest-plot\n"
            f":alt: forest plot of the claims of chapter {title}: each claim's measured "
            "effect and its 95 % interval on its own axis, coloured by verdict, against its "
            "threshold\n\n"
            f"The claims of {_chapter_link(chapter)}{apart}: the seeds' values (hollow), "
            "their mean and its 95 % interval coloured by verdict, against the threshold "
            "(dashed), the partly level (dotted), the value of no effect (grey) and, for a "
            "claim of no effect, the band ± its margin. Each row has its own axis, in the "
            "claim's unit; a claim measured in a further column of evidence (the papers' "
            "schedule, the full protocol) has that column's interval under its own, marked as "
            "in the legend.\n```\n")


def forest_figures(folder: Path, claims_dir: Path) -> str:
    """Every chapter's forest plot as a figure, one under the other (empty when no chapter
    published claims)."""
    return "\n".join(forest_figure(chapter, image.name)
                     for chapter, image in write_forests(folder, claims_dir))


def fill_ledger(page: Path, claims_dir: Path, lock: dict | None = None,
                history: History | None = None) -> None:
    """Replace the markers of the staged ledger ``page`` by the summary, the chapters' forest
    plots (written beside the page), the tables and the amendments."""
    text = page.read_text().replace(SUMMARY_MARKER, render_summary(claims_dir))
    if FOREST_MARKER in text:
        text = text.replace(FOREST_MARKER, forest_figures(page.parent, claims_dir))
    text = text.replace(AMENDMENTS_MARKER, render_amendments(lock))
    page.write_text(text.replace(LEDGER_MARKER, render_ledger(claims_dir, lock, history)))

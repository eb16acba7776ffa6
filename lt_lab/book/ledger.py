"""The claims ledger page: every chapter's claims and verdicts, and a summary table.

Executed chapters publish their checked claims (:func:`lt_lab.book.claims.publish`); when
the site is staged, the two markers of ``book/ledger.md`` are replaced by the summary (one
row per chapter, a count per verdict) and by one table of claims per chapter.
"""

from __future__ import annotations

from pathlib import Path

from lt_lab.book.claims import VERDICTS, Claim, load_published

LEDGER_MARKER = "<!-- claims-ledger -->"
SUMMARY_MARKER = "<!-- claims-summary -->"
LEDGER_HEADER = ("| claim | paper | statement | paper reported | measured here | verdict |\n"
                 "|---|---|---|---|---|---|")


def _published(claims_dir: Path) -> list[dict]:
    return load_published(claims_dir) if claims_dir.exists() else []


def _chapter_link(chapter: dict) -> str:
    return f"[{chapter['title']}](../chapters/{chapter['chapter']}.ipynb)"


def _verdict_counts(chapter: dict) -> list[int]:
    verdicts = [fields["verdict"] for fields in chapter["claims"]]
    return [verdicts.count(verdict) for verdict in VERDICTS]


def render_summary(claims_dir: Path) -> str:
    """One row per chapter: how many of its claims got each verdict; then the totals."""
    chapters = _published(claims_dir)
    if not chapters:
        return ""
    rows = ["| chapter | claims | " + " | ".join(VERDICTS) + " |",
            "|---|" + "---:|" * (len(VERDICTS) + 1)]
    totals = [0] * len(VERDICTS)
    for chapter in chapters:
        counts = _verdict_counts(chapter)
        totals = [total + count for total, count in zip(totals, counts, strict=True)]
        rows.append(f"| {_chapter_link(chapter)} | {sum(counts)} | "
                    + " | ".join(map(str, counts)) + " |")
    rows.append(f"| **all chapters** | **{sum(totals)}** | "
                + " | ".join(f"**{n}**" for n in totals) + " |")
    return "\n".join(rows) + "\n"


def _claim_row(claim: Claim) -> str:
    measured = "—" if claim.measured is None else (
        f"{claim.value_text()} {claim.unit}".rstrip() + f" (n={claim.n}; needs {claim.target})")
    return (f"| {claim.id} | {{cite}}`{claim.paper}` | {claim.statement} | "
            f"{claim.reported} | {measured} | **{claim.verdict}** |")


def render_ledger(claims_dir: Path) -> str:
    """Markdown tables of every chapter's claims, linking each chapter."""
    chapters = _published(claims_dir)
    if not chapters:
        return "*No chapter has published claims yet.*"
    blocks = []
    for chapter in chapters:
        blocks += [f"## {_chapter_link(chapter)}\n", LEDGER_HEADER]
        blocks += [_claim_row(Claim(**fields)) for fields in chapter["claims"]]
        blocks.append("")
    return "\n".join(blocks)


def fill_ledger(page: Path, claims_dir: Path) -> None:
    """Replace the markers of the staged ledger ``page`` by the summary and the tables."""
    text = page.read_text().replace(SUMMARY_MARKER, render_summary(claims_dir))
    page.write_text(text.replace(LEDGER_MARKER, render_ledger(claims_dir)))

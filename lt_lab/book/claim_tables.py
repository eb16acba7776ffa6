"""Claim tables people can read: the chapters' HTML table and the ledger's MyST table.

Both put the verdict first (then one verdict column per further column of evidence), so it
stays on screen on a phone, and neither cuts text: the chapters' table is written as HTML
(no pandas truncation, every text escaped), the ledger's as a MyST ``list-table`` (a ``|`` or
a ``*`` in a claim's text cannot break a row or start emphasis: every markdown character is
escaped). Papers appear as author–year labels: linked ones in HTML (:mod:`lt_lab.book.bib`),
``{cite}`` roles in the ledger.
"""

from __future__ import annotations

import html
import re

# Duck-typed on lt_lab.book.claims.Claim: this module imports no other part of the book but
# the bibliography, so that claims can use it.
NOT_YET_RUN = "not yet run"  # a further column published as None
DEFAULT_LABEL = "this page's runs"  # the main column's label when a chapter names none
ABSENT = "—"  # a claim a further column does not measure
TABLE_CLASS = "claims-table"  # the site check finds claim tables by it
# Inline, so that a notebook shows the table readably outside the site too (the site's own
# rules: book/_static/lt-book.css). Compact: a claim takes three or four short lines.
STYLE = ("<style>.claims-table{font-size:0.85em}"
         ".claims-table th,.claims-table td{text-align:left;vertical-align:top;"
         "padding:0.2em 0.5em}"
         ".claims-table tr>:first-child{white-space:nowrap}"  # the verdict
         ".claims-table td.text{white-space:normal}"  # the first cell when declared
         ".claims-table .claim-meta{font-size:0.9em;opacity:0.8}</style>")


def category_text(claim) -> str:
    """``claim``, ``claim (no effect)``, ``sanity`` or ``descriptive``."""
    return f"{claim.category} (no effect)" if claim.no_effect else claim.category


# --- what a verdict cell says ---------------------------------------------------------------


def verdict_word(claim) -> str:
    """``reproduced``, ``passes``, ``descriptive``, ``not run``..."""
    return "not run" if claim.measured is None else claim.verdict


def verdict_parts(claim, column_run: bool = True) -> tuple[str, str]:
    """(verdict word, estimate text) of a verdict cell: ``("reproduced", "3.0 [1.2, 4.8]
    n=3")``; ``("not yet run", "")`` for a column not run; ``("—", "")`` for a claim the
    column does not measure."""
    if not column_run:
        return NOT_YET_RUN, ""
    if claim is None:
        return ABSENT, ""
    estimate = "" if claim.measured is None else claim.estimate_text()
    return verdict_word(claim), estimate


def verdict_class(word: str) -> str:
    """A CSS class per verdict: ``verdict-not-reproduced``."""
    return "verdict-" + re.sub(r"[^a-z]+", "-", word.lower()).strip("-")


def needs_text(claim) -> str:
    return ABSENT if claim.category == "descriptive" else claim.target


def column_labels(label: str | None, columns: dict) -> list[str]:
    """The headers of the verdict columns: ``verdict`` alone, or ``verdict, <label>`` and
    one per further column."""
    if not columns:
        return ["verdict"]
    return [f"verdict, {label or DEFAULT_LABEL}", *columns]


def column_cells(claim, columns: dict) -> list[tuple[str, str]]:
    """The verdict cells of ``claim``'s row: its own, then one per further column
    (``columns``: ``{label: {claim id: claim} or None}``)."""
    cells = [verdict_parts(claim)]
    for members in columns.values():
        cells.append(verdict_parts(None if members is None else members.get(claim.id),
                                   column_run=members is not None))
    return cells


def by_id(columns: dict) -> dict:
    """``{label: claims}`` (lists, or None) as ``{label: {id: claim} or None}``."""
    return {name: None if members is None else
            (members if isinstance(members, dict) else {c.id: c for c in members})
            for name, members in columns.items()}


# --- the chapters' HTML table ----------------------------------------------------------------


def _verdict_td(word: str, estimate: str) -> str:
    text = f"<strong>{html.escape(word)}</strong>"
    if estimate:
        text += f"<br><span class=\"claim-estimate\">{html.escape(estimate)}</span>"
    return f'<td class="verdict {verdict_class(word)}">{text}</td>'


def _td(text: str, kind: str = "") -> str:
    cls = f' class="{kind}"' if kind else ""
    return f"<td{cls}>{text}</td>"


def _claim_td(claim, view: str) -> str:
    """One cell per claim: its id and statement, and under them (smaller) the paper with what
    it reported (``verdicts``) or how we measure (``declared``), what the claim needs and its
    category."""
    from lt_lab.book.bib import cite_html

    text = html.escape
    if view == "declared":
        detail = f"{cite_html(claim.paper)}; measured as: {text(claim.measure)}"
    else:
        detail = f"{cite_html(claim.paper)} reported: {text(claim.reported)}"
    detail += f"; needs: {text(needs_text(claim))}; {text(category_text(claim))}"
    return _td(f"<code>{text(claim.id)}</code> {text(claim.statement)}<br>"
               f'<span class="claim-meta">{detail}</span>', "text")


def html_table(claims: list, columns: dict | None = None, label: str | None = None,
               view: str = "verdicts") -> str:
    """The claims as an HTML table (see :func:`lt_lab.book.claims.show`): the verdict
    column(s), then one cell per claim (its id and statement, and under them the paper with
    what it reported, or how we measure, what the claim needs and its category).

    One text cell a row rather than six columns: in the page's ~690 px column six columns
    wrapped every cell into a tall row (about 110 px a claim); this takes about half."""
    columns = by_id(columns or {})
    head = ["claim"] if view == "declared" else [*column_labels(label, columns), "claim"]
    classes = ' class="verdict"'
    rows = ["<tr>" + "".join(
        f"<th{classes if name.startswith('verdict') or name in columns else ''}>"
        f"{html.escape(name)}</th>" for name in head) + "</tr>"]
    for claim in claims:
        cells = [] if view == "declared" else [_verdict_td(*cell)
                                               for cell in column_cells(claim, columns)]
        rows.append("<tr>" + "".join([*cells, _claim_td(claim, view)]) + "</tr>")
    kind = "claims-declared" if view == "declared" else "claims-verdicts"
    return (f'{STYLE}<div class="claims-table-wrapper" style="overflow-x:auto">'
            f'<table class="{TABLE_CLASS} {kind}"><thead>{rows[0]}</thead>'
            f"<tbody>{''.join(rows[1:])}</tbody></table></div>")


class ClaimsTable:
    """A chapter's claims as a notebook displays them: HTML (the page) and ``text`` (plain
    text, e.g. the lines of :func:`lt_lab.book.claims.print_verdicts`)."""

    def __init__(self, claims: list, columns: dict, label: str | None, view: str, text: str):
        self.claims, self.columns, self.label, self.view = claims, columns, label, view
        self.text = text

    def html(self) -> str:
        return html_table(self.claims, self.columns, self.label, self.view)

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        return self.text


# --- the ledger's MyST list-table ------------------------------------------------------------

_INLINE = re.compile(r"([\\`*_\[\]{}<>|$~&])")  # markdown anywhere in a line


def escape_markdown(text: str) -> str:
    """``text`` shown as typed in MyST: every character markdown could read (``|``, ``*``,
    ``_``, ``$``, a leading ``-`` or ``1.`` ...) backslash-escaped; newlines become spaces."""
    text = _INLINE.sub(r"\\\1", " ".join(str(text).split()))
    text = re.sub(r"^([-+#])(?=\s|$)", r"\\\1", text)  # a list item or a heading
    return re.sub(r"^(\d+)([.)])(?=\s|$)", r"\1\\\2", text)  # an ordered list item


def verdict_markdown(word: str, estimate: str) -> str:
    """A ledger verdict cell: the verdict in bold, its estimate on the next line."""
    if word in (ABSENT, NOT_YET_RUN) or word == "descriptive" and not estimate:
        return escape_markdown(word)
    shown = f"**{escape_markdown(word)}**"
    return f"{shown}\\\n{escape_markdown(estimate)}" if estimate else shown


def list_table(header: list[str], rows: list[list[str]], classes: str = TABLE_CLASS) -> str:
    """A MyST ``list-table`` of cells already in markdown (a cell may hold a hard line break:
    ``\\`` + newline)."""
    lines = ["```{list-table}", ":header-rows: 1", f":class: {classes}", ""]
    for row in [[escape_markdown(name) for name in header], *rows]:
        for index, cell in enumerate(row):
            first, *rest = cell.split("\n")
            lines.append(("* - " if index == 0 else "  - ") + first)
            lines += [f"    {line}" for line in rest]
    return "\n".join([*lines, "```"])

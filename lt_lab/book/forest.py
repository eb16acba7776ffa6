"""Forest plots of the claims: each claim's evidence against what it needed.

One row per claim, on its own axis in the claim's unit (a claim in points beside one in
cosines shares no scale): the seeds' values (hollow dots; none for a claim on the sd), their
mean (a filled dot) and its 95 % interval (the bar), coloured by verdict; the threshold
(dashed), the partly level (dotted), the value of no effect (grey) and, for a claim of no
effect, the band ± its margin. Sanity checks are drawn apart, under their own heading, and
descriptive values in purple. Further columns of evidence (the same claim measured again, e.g.
at the papers' schedule) are drawn under the claim's own interval, each with its marker
(square, diamond) and its verdict beside it.
Duck-typed on :class:`lt_lab.book.claims.Claim` (this module imports no other part of the
book). Needs the ``book`` extra (matplotlib, seaborn).
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from lt_lab.figures import colours, use_book_style

ROW_HEIGHT = 0.4  # inches a claim
HEADER_HEIGHT = 0.4  # inches a heading
LABEL_WIDTH = 2.3  # inches left of each axis: the claim's id
PLOT_WIDTH = 2.7  # inches of each axis
VERDICT_WIDTH = 1.4  # inches right of each axis: the verdict and the unit
COLUMN_WIDTH = LABEL_WIDTH + PLOT_WIDTH + VERDICT_WIDTH  # inches a column of claims
LEGEND_ROW = 0.17  # inches a row of legend entries (7 pt text and its spacing)
LEGEND_PAD = 0.12  # inches above and below the legend
BOTTOM = 0.3  # inches below the last row: its tick labels
SANITY_HEADING = "sanity checks (not counted as reproductions)"
CLAIMS_HEADING = "claims"
EXTRA_MARKERS = ("s", "D", "^")  # one marker per further column of evidence
EXTRA_ROW = 0.3  # inches a row grows per further column measured for its claim
LEGEND_ENTRIES = 6  # the legend's entries besides the columns' markers

# palette index of each verdict (seaborn's colour-blind palette)
_VERDICT_COLOUR = {"reproduced": 2, "passes": 2, "partly": 1, "partly passes": 1,
                   "inconclusive": 7, "not reproduced": 3, "fails": 3, "descriptive": 4}


def verdict_colour(verdict: str):
    """The colour of a verdict: green reproduced/passes, orange partly, red not reproduced/
    fails, grey inconclusive (and not run), purple descriptive."""
    return colours(10)[_VERDICT_COLOUR.get(verdict, 7)]


def default_groups(claims) -> dict:
    """``{"claims": the chapter's claims and descriptive values, sanity heading: its sanity
    checks}`` (a group without claims is left out)."""
    groups = {CLAIMS_HEADING: [c for c in claims if c.category != "sanity"],
              SANITY_HEADING: [c for c in claims if c.category == "sanity"]}
    return {heading: members for heading, members in groups.items() if members}


def _rows(groups: dict) -> list:
    """Headings and claims in drawing order: ``("heading", text)`` or ``("claim", claim)``;
    no heading over claims alone (only sanity checks beside them need telling apart)."""
    rows = []
    for heading, members in groups.items():
        if list(groups) != [CLAIMS_HEADING]:
            rows.append(("heading", heading))
        rows += [("claim", claim) for claim in members]
    return rows


def _split(rows: list, columns: int) -> list[list]:
    """``rows`` cut into ``columns`` runs of about equal height (a heading never ends one)."""
    size = math.ceil(len(rows) / columns)
    parts, current, heading = [], [], ""
    for kind, item in rows:
        if len(current) >= size and len(parts) < columns - 1 and current[-1][0] != "heading":
            parts.append(current)
            current = ([] if kind == "heading" or not heading
                       else [("heading", f"{heading} (continued)")])
        heading = item if kind == "heading" else heading
        current.append((kind, item))
    return [*parts, current]


def _extras(claim, extra: dict) -> list[tuple[str, str, object]]:
    """``(label, marker, claim)`` of each further column that measured ``claim``."""
    found = []
    for (name, members), marker in zip(extra.items(), EXTRA_MARKERS, strict=False):
        other = members.get(claim.id) if members else None
        if other is not None and other.measured is not None:
            found.append((name, marker, other))
    return found


def _step(kind: str, item, extra: dict) -> float:
    if kind == "heading":
        return HEADER_HEIGHT
    return ROW_HEIGHT + EXTRA_ROW * len(_extras(item, extra))


def _height(rows: list, extra: dict) -> float:
    return sum(_step(kind, item, extra) for kind, item in rows)


def _by_id(extra: dict | None) -> dict:
    """``{label: claims or None}`` as ``{label: {id: claim}}`` (None: an empty column)."""
    return {name: {} if members is None else
            (members if isinstance(members, dict) else {c.id: c for c in members})
            for name, members in (extra or {}).items()}


def forest_plot(claims=None, groups: dict | None = None, columns: int = 1, title: str = "",
                extra: dict | None = None, label: str | None = None):
    """A forest plot of ``claims`` (or of ``groups``: ``{heading: claims}``, in order), in
    ``columns`` columns; ``extra``: further columns of evidence, ``{label: claims or None}``,
    drawn under each claim's own (``label`` names the main one in the legend); returns the
    figure."""
    use_book_style()
    extra = _by_id(extra)
    groups = default_groups(claims or []) if groups is None else groups
    parts = _split(_rows(groups), columns)
    drawn = [name for name, members in extra.items()
             if any(c.measured is not None for c in members.values())]
    legend_columns = 3 if len(parts) == 1 else 6
    entries = LEGEND_ENTRIES + (1 + len(drawn) if drawn else 0)
    legend_height = 2 * LEGEND_PAD + LEGEND_ROW * math.ceil(entries / legend_columns)
    height = (max(_height(part, extra) for part in parts) + legend_height + BOTTOM
              + (0.3 if title else 0))
    width = COLUMN_WIDTH * len(parts)
    figure = plt.figure(figsize=(width, height))
    for index, part in enumerate(parts):
        top = height - legend_height - (0.3 if title else 0.0)
        for kind, item in part:
            step = _step(kind, item, extra)
            left = index * COLUMN_WIDTH
            if kind == "heading":
                figure.text((left + 0.1) / width, (top - step * 0.65) / height, item,
                            fontsize=10, fontweight="bold", ha="left", va="center")
            else:
                box = [(left + LABEL_WIDTH) / width, (top - step + ROW_HEIGHT * 0.2) / height,
                       PLOT_WIDTH / width, (step - ROW_HEIGHT * 0.4) / height]
                _draw_claim(figure.add_axes(box), item, _extras(item, extra))
            top -= step
    _legend(figure, height, title, columns=legend_columns,
            markers=[(label or "this page's runs", "o")] + [
                (name, marker) for name, marker in zip(extra, EXTRA_MARKERS, strict=False)
                if name in drawn] if drawn else [])
    return figure


def _draw_estimate(ax, claim, y: float, marker: str) -> list[float]:
    """One column's seeds, interval and mean at height ``y``; the positions drawn."""
    colour = verdict_colour(claim.verdict)
    seeds = claim.values if claim.statistic == "mean" else ()  # an sd claim: no seeds
    ax.plot(seeds, [y] * len(seeds), marker, markersize=3.5, markerfacecolor="none",
            markeredgecolor="0.45", markeredgewidth=0.8, linestyle="none")
    if claim.low is not None:
        ax.plot([claim.low, claim.high], [y, y], color=colour, linewidth=2.4,
                solid_capstyle="butt")
    ax.plot([claim.measured], [y], marker, color=colour, markersize=6)
    return [claim.measured, *seeds] + ([] if claim.low is None else [claim.low, claim.high])


def _verdict_text(ax, claim, y: float, prefix: str = "") -> None:
    verdict = claim.verdict.split(":")[0]  # "not applicable: <its gate>" reads by its first part
    if claim.measured is None and not verdict.startswith("not applicable"):
        verdict = "not run"
    ax.text(1.04, y, prefix + verdict, transform=ax.get_yaxis_transform(), ha="left",
            va="center", fontsize=8, color=verdict_colour(claim.verdict), fontweight="bold")


def _draw_claim(ax, claim, extras=()) -> None:
    """One row: seeds, mean and interval in the verdict's colour, against the claim's lines;
    under it, each further column's (``extras``: ``(label, marker, claim)``)."""
    ax.set_yticks([])
    ax.set_ylim(-1, 1)
    ax.tick_params(axis="x", labelsize=7, pad=1, length=2)
    ax.grid(False)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.text(-0.04, 0.0, claim.id, transform=ax.get_yaxis_transform(), ha="right", va="center",
            fontsize=8)
    ys = [0.0] if not extras else list(_positions(1 + len(extras)))
    _verdict_text(ax, claim, 0.35 if not extras else ys[0], "● " if extras else "")
    ax.text(1.04, -0.55 if not extras else -0.92, claim.unit, transform=ax.get_yaxis_transform(),
            ha="left", va="center", fontsize=7, color="0.4")
    marks = _reference_lines(ax, claim)
    if claim.measured is not None:
        marks += _draw_estimate(ax, claim, ys[0], "o")
    for (_, marker, other), y in zip(extras, ys[1:], strict=True):
        marks += _draw_estimate(ax, other, y, marker)
        _verdict_text(ax, other, y, {"s": "■ ", "D": "◆ ", "^": "▲ "}[marker])
    _limits(ax, marks)


def _positions(count: int):
    """``count`` heights from top to bottom of a row's axis (-1 to 1)."""
    step = 1.4 / count
    return (0.7 - step * (i + 0.5) for i in range(count))


def _reference_lines(ax, claim) -> list[float]:
    """The claim's null, threshold, partly level or ± margin band; the positions drawn."""
    ax.axvline(claim.null, color="0.55", linewidth=0.9)
    if claim.margin is not None:
        low, high = claim.null - claim.margin, claim.null + claim.margin
        ax.axvspan(low, high, color=colours(10)[2], alpha=0.15, linewidth=0)
        return [claim.null, low, high]
    ax.axvline(claim.threshold, color="0.15", linestyle="--", linewidth=1.0)
    marks = [claim.null, claim.threshold]
    if claim.partly_threshold is not None and claim.partly_threshold != claim.threshold:
        ax.axvline(claim.partly_threshold, color="0.35", linestyle=":", linewidth=1.1)
        marks.append(claim.partly_threshold)
    return marks


def _limits(ax, marks: list[float]) -> None:
    """x limits around every mark, with a margin of 8 % (one unit when all coincide)."""
    low, high = min(marks), max(marks)
    pad = 0.08 * (high - low) if high > low else max(abs(high), 1.0) * 0.5
    ax.set_xlim(low - pad, high + pad)


def _legend(figure, height: float, title: str, columns: int, markers=()) -> None:
    handles = [
        Line2D([], [], marker="o", linestyle="-", color="0.2", linewidth=2.4, markersize=6,
               label="mean, 95 % interval"),
        Line2D([], [], marker="o", linestyle="none", markerfacecolor="none",
               markeredgecolor="0.45", markersize=4, label="seeds"),
        Line2D([], [], color="0.15", linestyle="--", label="threshold"),
        Line2D([], [], color="0.35", linestyle=":", label="partly level"),
        Line2D([], [], color="0.55", label="no effect"),
        Patch(color=colours(10)[2], alpha=0.15, label="± margin (no-effect claim)"),
    ]
    handles += [Line2D([], [], marker=marker, linestyle="none", color="0.2", markersize=6,
                       label=name) for name, marker in markers]
    top = 1 - ((0.3 if title else 0.0) + LEGEND_PAD / 2) / height
    figure.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, top), ncol=columns,
                  fontsize=7, frameon=False, handlelength=1.6, columnspacing=1.0)
    if title:
        figure.suptitle(title, y=1 - 0.05 / height, fontsize=10, va="top")

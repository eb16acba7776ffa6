"""Can a reader read the page? The site check's findings from what Chromium measured.

:func:`lt_lab.book.site.measure_page` opens a page at a width and returns what a reader sees:
its claim tables (their text and where their verdict header lies), its images (alt text,
caption), its prose outside code and tables, and its height. :func:`problems` turns that
into findings, each named by its check (:data:`CHECKS`), so the site check can excuse a page
from one check while its chapter is being fixed.
"""

from __future__ import annotations

import re

from lt_lab.book.figure_text import COLUMN_PX, MIN_TEXT_PX, text_px

CHECKS = {
    "measured": "the page's measuring script ran",
    "ellipsis": "no table cuts a cell's text with '…'",
    "raw-key": "no BibTeX key shows as text (papers appear as author–year labels)",
    "verdict-visible": "every claim table's verdict column is on screen at 390 and 1280 px",
    "figure-caption": "every figure has a caption and an alt text that describes it",
    "page-length": "a chapter is at most 15 screens long at 1280×800",
    "figure-text": "a figure's smallest text is at least 9 px as shown at 1280 px "
                   "(f pt in a figure w in wide, shown s px: f·s/(72 w))",
}
MAX_SCREENS = 15
SCREEN_HEIGHT = 800
CLAIM_HEADS = ("verdict", "statement", "paper reported")
CUT = ("…", "...")
FILE_NAME = re.compile(r"(\.(png|jpe?g|svg|gif|webp)$)|(^[0-9a-f]{16,}$)|/_images/",
                       re.IGNORECASE)


def is_claim_table(table: dict) -> bool:
    """A table of claims: class ``claims-table``, or a header of a claims table (verdict,
    statement, paper reported) — so pandas tables of claims count too."""
    heads = [h.strip().lower() for h in table.get("heads", [])]
    return "claims-table" in table.get("classes", "") or any(
        head.startswith(CLAIM_HEADS) for head in heads)


def ellipsis(page: str, tables: list[dict]) -> list[str]:
    """Cells of any table that end in "…" or "..." (pandas cuts long text so; a statement
    that *starts* with "…", continuing the one above, is not cut)."""
    cut = [cell for table in tables for cell in table["cells"] if cell.rstrip().endswith(CUT)]
    if not cut:
        return []
    return [f"{page}: {len(cut)} cell(s) of its tables cut short, e.g. "
            f"{' '.join(cut[0].split())[-60:]!r}"]


def raw_keys(page: str, measured: dict, keys) -> list[str]:
    texts = [cell for t in measured.get("tables", []) if is_claim_table(t)
             for cell in t["cells"]]
    texts.append(measured.get("prose", ""))
    found = sorted({key for key in keys for text in texts
                    if re.search(rf"(?<![\w-]){re.escape(key)}(?![\w-])", text)})
    if not found:
        return []
    return [f"{page}: raw BibTeX key(s) shown as text: {', '.join(found)} (cite them: "
            "author–year labels)"]


def verdict_visible(page: str, width: int, tables: list[dict]) -> list[str]:
    found = []
    claims = [t for t in tables if is_claim_table(t)]
    for number, table in enumerate(claims, 1):
        box = table.get("verdict")
        if box is None:
            continue  # a table of declared claims: no verdict yet
        if box["width"] <= 0 or box["left"] < -1 or box["right"] > width + 1:
            found.append(f"{page}: the verdict column of claim table {number} is off screen "
                         f"at {width} px (its header spans {box['left']:.0f} to "
                         f"{box['right']:.0f} px)")
    return found


def figure_captions(page: str, images: list[dict]) -> list[str]:
    lacking = [image for image in images
               if not image.get("caption") or not image.get("alt", "").strip()
               or FILE_NAME.search(image["alt"].strip())]
    if not lacking:
        return []
    names = ", ".join(image["src"].rsplit("/", 1)[-1][:16] for image in lacking[:3])
    return [f"{page}: {len(lacking)} of {len(images)} figures lack a caption or an alt text "
            f"that describes them (e.g. {names})"]


def shown_text_px(image: dict) -> float | None:
    """CSS px of an image's smallest text as the page shows it: its ``text_pt`` and
    ``width_in`` (from the PNG) and the width it is ``shown`` at (Chromium's; an image in a
    closed dropdown measures 0, and counts at its ``natural_px`` width up to the column)."""
    if image.get("text_pt") is None or not image.get("width_in"):
        return None
    shown = image.get("shown") or min(image.get("natural_px") or COLUMN_PX, COLUMN_PX)
    return text_px(image["text_pt"], image["width_in"], shown)


def figure_text(page: str, images: list[dict]) -> list[str]:
    """Figures whose smallest text is under :data:`MIN_TEXT_PX` on screen, and figures
    whose PNG does not say its text size (not displayed through the book's theme)."""
    found, sized = [], [(shown_text_px(image), image) for image in images]
    small = sorted((px, image) for px, image in sized if px is not None and px < MIN_TEXT_PX)
    if small:
        px, image = small[0]
        found.append(
            f"{page}: {len(small)} of {len(images)} figures have text under {MIN_TEXT_PX:g} px "
            f"(smallest {px:.1f} px: {image['text_pt']:g} pt in a figure "
            f"{image['width_in']:.1f} in wide shown {image.get('shown') or 0:.0f} px, "
            f"{image['src'].rsplit('/', 1)[-1][:16]}); enlarge the font, or split or stack "
            "the panels")
    unknown = [image for px, image in sized if px is None]
    if unknown:
        found.append(f"{page}: {len(unknown)} of {len(images)} figures do not record their "
                     "text size (call figures.record_text_sizes() after "
                     "figures.use_book_style()), e.g. "
                     f"{unknown[0]['src'].rsplit('/', 1)[-1][:16]}")
    return found


def page_length(page: str, measured: dict) -> list[str]:
    if not page.startswith("chapters/"):
        return []
    screens = measured.get("scrollHeight", 0) / SCREEN_HEIGHT
    if screens <= MAX_SCREENS:
        return []
    return [f"{page}: {screens:.1f} screens long at 1280×800 (at most {MAX_SCREENS})"]


def problems(page: str, measured: dict[int, dict], keys) -> list[tuple[str, str]]:
    """``(check, message)`` for each finding on ``page``; ``measured``: what the page's
    script found at each width (``{1280: {...}, 390: {...}}``), ``keys``: the
    bibliography's keys."""
    found = []
    for width, metrics in measured.items():
        if not metrics:
            found.append(("measured", f"{page}: could not measure the page at {width} px"))
        found += [("verdict-visible", message)
                  for message in verdict_visible(page, width, metrics.get("tables", []))]
    wide = measured.get(max(measured)) if measured else None
    if wide:
        found += [("ellipsis", m) for m in ellipsis(page, wide.get("tables", []))]
        found += [("raw-key", m) for m in raw_keys(page, wide, keys)]
        found += [("figure-caption", m) for m in figure_captions(page, wide.get("images", []))]
        found += [("page-length", m) for m in page_length(page, wide)]
        found += [("figure-text", m) for m in figure_text(page, wide.get("images", []))]
    return found

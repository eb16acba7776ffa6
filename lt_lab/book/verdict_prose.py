"""Paragraphs that cannot go stale: verdict words in prose against the verdicts computed.

A chapter's verdict cell (the code cell marked ``# NBVAL_CHECK_OUTPUT``) prints one line a
claim, in each column (the quick profile, then the papers' schedule...), and nbval keeps that
output frozen: it is the verdict the chapter computed. :func:`frozen_verdicts` reads it.

Prose is read in *blocks*: paragraphs, list items and headings of a markdown cell (or of a
MyST page). A block that uses a verdict word (:data:`VERDICT_WORDS`: reproduced, partly,
inconclusive, not reproduced, passes, fails) must name a claim id, and each verdict word in
it must be a verdict that one of the claims it names has in some column of the frozen
output. So a paragraph that says a claim is "inconclusive" after its verdict moved to
"reproduced" fails the book's tests, and so does a verdict word that names no claim at all
("the claims that were inconclusive...").
"""

from __future__ import annotations

import re
from pathlib import Path

VERDICT_WORDS = ("not reproduced", "reproduced", "partly", "inconclusive", "passes", "fails")
WORD = re.compile(r"(?<![\w-])(" + "|".join(w.replace(" ", r"\s+") for w in VERDICT_WORDS)
                  + r")(?![\w-])", re.IGNORECASE)  # "not reproduced" may break across lines
# A line of a verdict cell: id, category (the exploratory cell) or role (the confirmatory
# cell: counted, member, descriptive, ours), verdict (two words for "not reproduced"/"not run").
LINE = re.compile(r"^(\S+)\s+(claim|sanity|descriptive|counted|member|ours)\s+"
                  r"(not reproduced|not run|not applicable|\S+)")
MARKER = "NBVAL_CHECK_OUTPUT"
ITEM = re.compile(r"[ \t]*(?:[-*+]|\d+\.)[ \t]")  # a list item's first line
ALONE = re.compile(r"[ \t]*(?:#{1,6}[ \t]|:::|```)")  # a heading, directive or fence line


def frozen_verdicts(notebook) -> dict[str, set[str]]:
    """``{claim id: {verdict, ...}}`` from the frozen output of a chapter's verdict cell
    (an nbformat notebook): every column's verdict of each claim."""
    verdicts: dict[str, set[str]] = {}
    for cell in notebook.cells:
        if cell.cell_type != "code" or MARKER not in cell.source:
            continue
        text = "".join(output.get("text", "") for output in cell.get("outputs", []))
        for line in text.splitlines():
            found = LINE.match(line)
            if found:
                verdicts.setdefault(found[1], set()).add(found[3])
    return verdicts


def blocks(markdown: str) -> list[str]:
    """The paragraphs, list items, headings and directive lines of ``markdown``: a blank
    line ends a block, a list item starts one, a heading or a directive's (fence's) line is
    one by itself."""
    found, lines = [], []
    for line in markdown.splitlines() + [""]:
        if not line.strip() or ITEM.match(line) or ALONE.match(line):
            found.append("\n".join(lines))
            lines = []
        if ALONE.match(line):
            found.append(line)
        elif line.strip():
            lines.append(line)
    return [block.strip() for block in found if block.strip()]


def claim_pattern(ids) -> re.Pattern:
    """A pattern that finds any of ``ids`` as a whole claim id (not inside a longer one)."""
    names = "|".join(sorted(map(re.escape, ids), key=len, reverse=True)) or r"(?!x)x"
    return re.compile(rf"(?<![\w-])({names})(?![\w-])")


def problems(markdown: str, verdicts: dict[str, set[str]], where: str = "",
             require_claim: bool = True) -> list[str]:
    """What in ``markdown`` disagrees with ``verdicts``: a verdict word in a block that names
    no claim (unless ``require_claim`` is false, for pages such as the course's that use the
    words in their plain sense too), or one that no claim the block names has."""
    ids = claim_pattern(verdicts)
    found = []
    for block in blocks(markdown):
        words = [" ".join(word.lower().split()) for word in WORD.findall(block)]
        if not words:
            continue
        named = sorted(set(ids.findall(block)))
        shown = " ".join(block.split())[:120]
        if not named:
            if not require_claim:
                continue
            found.append(f"{where}: verdict word(s) {words} name no claim: {shown!r}")
            continue
        held = set().union(*(verdicts[claim] for claim in named))
        wrong = sorted({word for word in words if word not in held})
        if wrong:
            said = {claim: sorted(verdicts[claim]) for claim in named}
            found.append(f"{where}: says {wrong} of {said}: {shown!r}")
    return found


def chapter_problems(path: Path, verdicts: dict[str, set[str]] | None = None) -> list[str]:
    """:func:`problems` of every markdown cell of the chapter notebook at ``path``, against
    its own frozen verdicts (or ``verdicts``, e.g. those of every chapter)."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    verdicts = frozen_verdicts(notebook) if verdicts is None else verdicts
    return [problem for index, cell in enumerate(notebook.cells) if cell.cell_type == "markdown"
            for problem in problems(cell.source, verdicts, f"{Path(path).name} cell {index}")]


GLUED = re.compile(r"\{glue:text\}`([^`:]+)")  # a key pasted into prose
GLUE_CALL = re.compile(r"glue\(\s*(f?)\"([^\"]+)\"")  # chapter.glue("key", ...) or f"..."


def unglued(notebook) -> list[str]:
    """Keys pasted into the markdown of ``notebook`` (``{glue:text}`key```) that no code cell
    glues (``chapter.glue("key", ...)``; an f-string's fields match any key part)."""
    patterns = []
    for cell in notebook.cells:
        if cell.cell_type == "code":
            for is_f, key in GLUE_CALL.findall(cell.source):
                parts = re.split(r"\{[^}]*\}", key) if is_f else [key]
                patterns.append(re.compile(r"[\w.-]+".join(map(re.escape, parts)) + "$"))
    return sorted({key for cell in notebook.cells if cell.cell_type == "markdown"
                   for key in GLUED.findall(cell.source)
                   if not any(pattern.match(key) for pattern in patterns)})

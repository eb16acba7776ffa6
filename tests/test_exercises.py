"""The course kit: every chapter ends with at least three exercises, and every exercise has a
solution (sphinx-exercise's ``exercise`` and ``solution`` directives in the chapters'
markdown cells), so the student edition hides something for each and the teacher's has an
answer for each."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

CHAPTERS = sorted((Path(__file__).resolve().parents[1] / "chapters").glob("[0-9]*.ipynb"))
MIN_EXERCISES = 3
# an opening fence (backticks or colons) of a directive, and the options that follow it
DIRECTIVE = re.compile(r"^(?P<fence>`{3,}|:{3,})\{(?P<name>exercise|solution)(?:-start)?\}"
                       r"[ \t]*(?P<argument>\S*)[ \t]*\n(?P<options>(?:[ \t]*:[\w-]+:.*\n)*)",
                       re.MULTILINE)
LABEL = re.compile(r"^[ \t]*:label:[ \t]*(\S+)", re.MULTILINE)


def directives(markdown: str) -> tuple[list[str], list[str]]:
    """The labels of the exercises in ``markdown`` (``?`` for one without a label) and the
    exercise labels its solutions answer."""
    exercises, solutions = [], []
    for found in DIRECTIVE.finditer(markdown + "\n"):
        if found["name"] == "exercise":
            label = LABEL.search(found["options"])
            exercises.append(label.group(1) if label else "?")
        else:
            solutions.append(found["argument"])
    return exercises, solutions


def chapter_directives(notebook: Path) -> tuple[list[str], list[str]]:
    book = nbformat.read(notebook, as_version=4)
    markdown = "\n".join(cell.source for cell in book.cells if cell.cell_type == "markdown")
    return directives(markdown)


def test_exercises_and_their_solutions_are_read_from_both_fences():
    markdown = ("```{exercise}\n:label: ch9-a\nQ?\n```\n\n```{solution} ch9-a\n:class: dropdown\n"
                "A.\n```\n\n::::{exercise}\n:label: ch9-b\n:nonumber:\nQ?\n::::\n\n"
                "```{exercise-start}\n:label: ch9-c\n```\nQ\n```{exercise-end}\n```\n"
                "```{exercise}\nno label\n```\n")
    assert directives(markdown) == (["ch9-a", "ch9-b", "ch9-c", "?"], ["ch9-a"])


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda path: path.stem)
def test_a_chapter_has_three_exercises_each_with_a_solution(notebook):
    exercises, solutions = chapter_directives(notebook)
    assert len(exercises) >= MIN_EXERCISES, (
        f"{notebook.name}: {len(exercises)} exercises, at least {MIN_EXERCISES} wanted")
    assert "?" not in exercises, f"{notebook.name}: an exercise without a :label:"
    unanswered = [label for label in exercises if label not in solutions]
    assert not unanswered, f"{notebook.name}: exercises without a solution: {unanswered}"
    orphans = [label for label in solutions if label not in exercises]
    assert not orphans, f"{notebook.name}: solutions of no exercise here: {orphans}"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda path: path.stem)
def test_the_students_copy_of_a_chapter_keeps_its_exercises_and_loses_every_solution(
        notebook, tmp_path):
    from lt_lab.book.edition import strip_solutions

    exercises, solutions = chapter_directives(notebook)
    removed = strip_solutions(notebook, tmp_path / notebook.name)
    assert removed == len(solutions)
    assert chapter_directives(tmp_path / notebook.name) == (exercises, [])

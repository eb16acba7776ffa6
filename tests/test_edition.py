"""The course page's homework: one exercise per lecture of the plan, each with an answer key
written as a sphinx-exercise ``solution``, the directive the student edition leaves out
(``hide_solutions``, :func:`lt_lab.book.edition.student_config`). A plain dropdown would stay
in the student edition; a solution does not.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

COURSE = Path(__file__).resolve().parents[1] / "book" / "course.md"
# an opening fence of a directive (backticks or colons), its argument (a title, or the label
# a solution answers) and the options under it
DIRECTIVE = re.compile(r"^(`{3,}|:{3,})\{(exercise|solution|dropdown)\}[ \t]*(.*)\n"
                       r"((?:[ \t]*:[\w-]+:.*\n)*)", re.MULTILINE)
LABEL = re.compile(r":label:[ \t]*(\S+)")


def directives(text: str) -> list[tuple[str, str, str]]:
    """``(name, argument, options)`` of every directive in ``text``, in order."""
    return [(found[2], found[3].strip(), found[4]) for found in DIRECTIVE.finditer(text)]


def lectures(text: str) -> int:
    """The rows of the lecture plan: table rows that start with a lecture number."""
    return len(re.findall(r"^\| \d+ \|", text, re.MULTILINE))


def homework(text: str) -> tuple[list[str], dict[str, str]]:
    """The labels of the homework exercises (``course-hw-*``), and each answered label's
    solution options."""
    found = directives(text)
    exercises = [LABEL.search(options)[1] for name, _, options in found
                 if name == "exercise" and LABEL.search(options)]
    answers = {argument: options for name, argument, options in found if name == "solution"}
    return [label for label in exercises if label.startswith("course-hw-")], answers


def test_every_lecture_has_a_homework_with_a_collapsed_answer_key():
    text = COURSE.read_text()
    exercises, answers = homework(text)
    assert lectures(text) == 6
    assert exercises == [f"course-hw-{n}" for n in range(1, 7)]
    for label in exercises:
        assert label in answers, f"{label} has no answer key"
        assert ":class: dropdown" in answers[label], f"{label}'s answer key is not collapsed"


def test_no_answer_key_is_a_plain_dropdown_which_the_student_edition_would_keep():
    assert not [d for d in directives(COURSE.read_text()) if d[0] == "dropdown"]


def test_answer_keys_type_no_measured_numbers():
    # the keys point to the chapters' tables and verdicts; numbers typed in them are the
    # papers' own, each with its source tag
    text = COURSE.read_text()
    keys = re.findall(r"```\{solution\} course-hw-\d\n(.*?)\n```", text, re.DOTALL)
    assert len(keys) == 6
    for key in keys:
        for number in re.findall(r"(?<![\w$^{.])\d+\.\d+(?![\w}])", key):
            after = key[key.index(number):][:40]
            assert "[" in after, f"{number!r} has no source tag: {after!r}"


@pytest.mark.slow  # two one-page Sphinx builds
@pytest.mark.parametrize("hide", [False, True], ids=["teacher", "student"])
def test_the_student_edition_builds_the_homework_without_its_answer_keys(tmp_path, hide):
    (tmp_path / "index.md").write_text(COURSE.read_text())
    (tmp_path / "conf.py").write_text(
        'extensions = ["myst_parser", "sphinx_exercise"]\n'
        'myst_enable_extensions = ["colon_fence", "dollarmath", "amsmath"]\n'
        f"hide_solutions = {hide}\n")
    sphinx = [sys.executable, "-m", "sphinx", "-q", "-b", "html", str(tmp_path),
              str(tmp_path / "html")]
    subprocess.run(sphinx, check=True, capture_output=True)  # unknown roles only warn
    page = (tmp_path / "html" / "index.html").read_text()
    assert "Lecture 6: what LDS adds" in page  # the homework stays in both editions
    answer = "Reweighting (SQINV against vanilla) moves error from the tail to the head"
    assert (answer in page) is not hide
    assert page.count('class="solution') == (0 if hide else 7)  # 6 keys and course-counts'

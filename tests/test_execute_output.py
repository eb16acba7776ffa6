"""``lt-lab book execute … --output FILE.ipynb`` writes that file, its claims beside it in
``FILE.claims/``; ``--output DIR/`` keeps the folder (the copy as DIR/<chapter>.ipynb, the
claims in DIR/claims/)."""

from __future__ import annotations

import pytest
from notebooks import executable_chapter

from lt_lab.book.execute import destination, execute, execute_all
from lt_lab.errors import ConfigError
from lt_lab.io import check_output


def test_a_notebook_path_is_the_copy_and_its_claims_go_beside_it(tmp_path):
    copy, claims = destination("chapters/00_long_tail.ipynb", {},
                                            tmp_path / "out" / "ch0.ipynb")
    assert copy == tmp_path / "out" / "ch0.ipynb"
    assert claims == tmp_path / "out" / "ch0.claims"


def test_a_folder_keeps_today_s_layout(tmp_path):
    copy, claims = destination("chapters/00_long_tail.ipynb", {}, tmp_path / "out")
    assert (copy, claims) == (tmp_path / "out", tmp_path / "out" / "claims")
    # a folder that happens to end in .ipynb and holds files stays a folder
    (tmp_path / "odd.ipynb").mkdir()
    (tmp_path / "odd.ipynb" / "x").write_text("")
    assert destination("c.ipynb", {}, tmp_path / "odd.ipynb")[0] == \
        tmp_path / "odd.ipynb"


def test_execute_writes_the_named_file_even_after_the_writability_check(tmp_path):
    chapter = executable_chapter(tmp_path / "00_t.ipynb", "# T", "x = 1", "y = x + 1")
    target = tmp_path / "out" / "ch.ipynb"
    check_output(target, "--output", folder=True)  # what the command checks first: makes it
    written = execute(chapter, {}, output_dir=target)
    assert written == target and target.is_file()
    assert not (tmp_path / "out" / "ch.ipynb" / "00_t.ipynb").exists()


def test_every_chapter_into_one_file_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="names one notebook"):
        execute_all({}, tmp_path / "all.ipynb")

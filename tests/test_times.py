"""The book's times come from the records of ``lt-lab book time``, never from typing: a
chapter's table and the course page's table are built from the newest record of each
setting, and say when the chapter changed after it was measured."""

from __future__ import annotations

import json
from pathlib import Path

from lt_lab.book import times, timing


def book_time(folder: Path, name: str, created: str, empty: bool, seconds: dict,
              parameters=None, device="cpu: AMD EPYC, 2 threads") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"book-cpu-{name}.json").write_text(json.dumps({
        "kind": "lt_lab.book_time", "parameters": parameters or {}, "device": device,
        "store_empty_at_start": empty, "created": created, "git_commit": "abc123",
        "chapters": [{"notebook": f"{stem}.ipynb", "wall_time_s": s, "records_trained":
                      3 if empty else 0} for stem, s in seconds.items()]}))


def bench(tmp_path) -> Path:
    folder = tmp_path / "bench"
    book_time(folder, "old", "2026-11-01T00:00:00+00:00", True, {"00_a": 9999.0})
    book_time(folder, "new", "2026-11-27T08:59:58+00:00", True, {"00_a": 538.5, "01_b": 1481.9})
    book_time(folder, "warm", "2026-11-27T07:26:59+00:00", False, {"00_a": 5.9, "01_b": 5.0})
    book_time(folder, "smoke", "2026-11-26T00:00:00+00:00", True, {"00_a": 61.0},
              parameters={"profile": "smoke"})
    (folder / "cpu-20261127T043026Z.json").write_text('{"kind": "lt_lab.bench"}')  # not ours
    return folder


def test_durations_read_as_seconds_minutes_or_hours():
    assert [times.duration(s) for s in (5.9, 89, 538.5, 5400)] == [
        "6 s", "89 s", "9.0 min", "1.5 h"]


def test_a_chapter_gets_the_newest_record_of_each_setting(tmp_path):
    rows = times.chapter_times("00_a", bench(tmp_path))
    assert [(r["profile"], r["empty_store"], r["wall_time_s"]) for r in rows] == [
        ("quick", True, 538.5), ("quick", False, 5.9), ("smoke", True, 61.0)]
    assert times.chapter_times("02_c", bench(tmp_path)) == []


def test_the_chapter_table_shows_the_records_numbers_and_their_date(tmp_path, monkeypatch):
    monkeypatch.setattr(times, "changed_since", lambda chapter, created: "2026-11-30")
    table = times.time_table("01_b", bench(tmp_path))
    text = repr(table)
    assert "| quick | an empty store | cpu: AMD EPYC, 2 threads | 24.7 min | 3 | " \
           "2026-11-27 (abc123) |" in text
    assert "| quick | the stored records | cpu: AMD EPYC, 2 threads | 5 s | 0 |" in text
    assert "changed on 2026-11-30, after this measurement" in text
    assert '<table class="time-table">' in table._repr_html_()
    assert timing.time_table is times.time_table  # the name the chapters may use


def test_without_a_record_the_tables_say_how_to_measure(tmp_path, monkeypatch):
    monkeypatch.setattr(times, "changed_since", lambda chapter, created: None)
    assert "no timing record yet" in repr(times.time_table("00_a", tmp_path / "none"))
    empty = times.course_times(tmp_path / "none", chapters=[Path("00_a.ipynb")])
    assert empty.startswith("*Times: no timing record yet")


def test_the_course_table_has_a_row_per_chapter_with_both_starts(tmp_path, monkeypatch):
    monkeypatch.setattr(times, "changed_since", lambda chapter, created: None)
    chapters = [Path("00_a.ipynb"), Path("01_b.ipynb"), Path("02_c.ipynb")]
    table = times.course_times(bench(tmp_path), chapters)
    assert table.splitlines()[2:] == [
        "| {doc}`../chapters/00_a` | 9.0 min | 6 s | cpu: AMD EPYC, 2 threads, 2026-11-27 |",
        "| {doc}`../chapters/01_b` | 24.7 min | 5 s | cpu: AMD EPYC, 2 threads, 2026-11-27 |",
        "| {doc}`../chapters/02_c` | not measured | not measured | — |"]
    written = times.write_course_times(tmp_path, bench(tmp_path), chapters)
    assert written.name == "_times.md" and written.read_text().startswith("| chapter |")


def test_a_chapter_changed_after_its_timing_is_flagged():
    # chapter 0 has commits (git log): far in the past, a timing is older than the chapter;
    # in the future, none is
    assert times.changed_since("00_long_tail", "2000-01-01T00:00:00+00:00") is not None
    assert times.changed_since("00_long_tail", "2999-01-01T00:00:00+00:00") is None


def test_the_training_time_of_new_records_is_their_wall_time(tmp_path):
    (tmp_path / "a.json").write_text('{"wall_time_s": 3.29}')
    (tmp_path / "b.json").write_text('{"wall_time_s": 10.0}')
    (tmp_path / "index.json").write_text("[1, 2]")  # not a record
    assert timing.training_seconds(sorted(tmp_path.glob("*.json"))) == 13.3
    assert timing.count_records(tmp_path) == 3 and timing.count_records(tmp_path / "x") == 0


def test_a_book_time_counts_only_from_an_idle_machine_with_nothing_beside_its_grid(monkeypatch):
    """Void above a 1-minute load of 0.5 before the start, or above the workers' threads
    + 0.5 during it (2 workers of 1 thread on 2 cores: 2.5)."""
    from lt_lab import grid
    from lt_lab.book.timing import validity

    monkeypatch.setattr(grid, "cores", lambda: 2)
    assert validity(0.3, 2.4, 2, 2) == {"valid": True, "void_because": [], "cores": 2}
    busy = validity(0.8, 2.6, 2, 2)
    assert not busy["valid"] and busy["void_because"] == [
        "load 0.80 before the start (> 0.5)", "load 2.60 during it (> 2 threads + 0.5)"]


def test_the_load_watch_keeps_the_highest_load_it_saw(monkeypatch):
    from lt_lab.book import timing

    loads = iter([(0.2, 0, 0), (1.7, 0, 0), (0.9, 0, 0)] + [(0.1, 0, 0)] * 100)
    monkeypatch.setattr(timing.os, "getloadavg", lambda: next(loads))
    with timing.LoadWatch(every=0.001) as watch:
        import time

        time.sleep(0.05)
    assert watch.highest == 1.7

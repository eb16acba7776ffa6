"""The book's times, read from the records of ``lt-lab book time``, never typed.

:func:`time_table` is a chapter's table of measured times (a chapter shows it in a cell:
``time_table("00_long_tail")``); :func:`course_times` is the course page's, which
:func:`write_course_times` writes into the staged site at build time (:data:`COURSE_TIMES`,
included by ``book/course.md``). Each row is the newest record of its setting (profile,
machine, from an empty store or from the stored records), with its date and commit; a table
says so when the chapter changed after it was measured.
"""

from __future__ import annotations

import html
import json
import subprocess
from datetime import datetime
from pathlib import Path

from lt_lab.book.paths import ROOT, chapter_notebooks

BENCH = ROOT / "data" / "bench"
COURSE_TIMES = "_times.md"  # beside book/course.md in the staged site, which includes it
NO_RECORD = ("no timing record yet: `make book-time` (from an empty store) and "
             "`lt-lab book time` (from the stored records) measure it")


def book_time_records(bench_dir: Path = BENCH) -> list[dict]:
    """Every ``lt-lab book time`` record in ``bench_dir``, newest first."""
    records = []
    for path in sorted(Path(bench_dir).glob("book-*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if record.get("kind") == "lt_lab.book_time" and record.get("chapters"):
            records.append(record)
    return sorted(records, key=lambda r: r.get("created", ""), reverse=True)


def _setting(record: dict) -> tuple[str, str, bool]:
    """What a record measured: (profile and other parameters, device, from an empty store?)."""
    parameters = dict(record.get("parameters") or {})
    profile = str(parameters.pop("profile", "quick"))
    if parameters:
        profile += " (" + ", ".join(f"{k}={v}" for k, v in sorted(parameters.items())) + ")"
    return profile, record.get("device", "?"), bool(record.get("store_empty_at_start"))


def chapter_times(chapter: str, bench_dir: Path = BENCH) -> list[dict]:
    """The newest measurement of ``chapter`` (a notebook's stem) in each setting (profile,
    device, empty or stored records): one row per setting, in the record's own numbers."""
    rows, seen = [], set()
    for record in book_time_records(bench_dir):
        setting = _setting(record)
        timed = next((c for c in record["chapters"]
                      if Path(c["notebook"]).stem == Path(chapter).stem), None)
        if timed is None or setting in seen:
            continue
        seen.add(setting)
        profile, device, empty = setting
        rows.append({"profile": profile, "device": device, "empty_store": empty,
                     "wall_time_s": timed["wall_time_s"],
                     "records_trained": timed.get("records_trained"),
                     "records_trained_s": timed.get("records_trained_s"),
                     "created": record.get("created", ""),
                     "git_commit": record.get("git_commit", "")})
    return sorted(rows, key=lambda r: (r["profile"], r["device"], not r["empty_store"]))


def duration(seconds: float) -> str:
    """Seconds as a reader reads them: "45 s", "8.2 min", "1.6 h"."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def changed_since(chapter: str, created: str) -> str | None:
    """The date of the chapter's last commit when it is later than ``created`` (the timing
    is older than the chapter); None when it is not, or git cannot say."""
    try:
        done = subprocess.run(["git", "log", "-1", "--format=%cI", "--",
                               f"chapters/{Path(chapter).stem}.ipynb"], cwd=ROOT,
                              capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    last = done.stdout.strip()
    if done.returncode or not last or not created:
        return None
    later = datetime.fromisoformat(last) > datetime.fromisoformat(created)
    return last[:10] if later else None


def _cells(row: dict) -> list[str]:
    start = "an empty store" if row["empty_store"] else "the stored records"
    trained = "" if row["records_trained"] is None else str(row["records_trained"])
    if row.get("records_trained_s"):
        trained += f" ({duration(row['records_trained_s'])} of training)"
    return [row["profile"], start, row["device"], duration(row["wall_time_s"]), trained,
            f"{row['created'][:10]} ({row['git_commit']})"]


TIME_HEADS = ["profile", "from", "machine", "wall time", "runs trained", "measured"]


class TimeTable:
    """A chapter's measured times (:func:`time_table`): HTML in the book, markdown and text
    elsewhere."""

    def __init__(self, chapter: str, rows: list[dict], stale: str | None = None):
        self.chapter, self.rows, self.stale = chapter, rows, stale

    def note(self) -> str:
        if not self.rows:
            return f"Time to run this chapter: {NO_RECORD}."
        note = ("Time to run this chapter, as `lt-lab book time` measured it (from an empty "
                "store every run is trained; from the stored records none is).")
        if self.stale:
            note += (f" The chapter changed on {self.stale}, after this measurement: "
                     "`make book-time` measures it again.")
        return note

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in TIME_HEADS)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in _cells(row))
                       + "</tr>" for row in self.rows)
        table = (f'<table class="time-table"><thead><tr>{head}</tr></thead>'
                 f"<tbody>{body}</tbody></table>") if self.rows else ""
        return f"<p>{html.escape(self.note()).replace('`', '')}</p>{table}"

    def _repr_markdown_(self) -> str:
        return self.note() + ("\n\n" + markdown_table(TIME_HEADS, [_cells(r) for r in self.rows])
                              if self.rows else "")

    def __repr__(self) -> str:
        return self._repr_markdown_()


def markdown_table(heads: list[str], rows: list[list[str]]) -> str:
    """A markdown pipe table, a ``|`` inside a cell escaped."""
    def line(cells):
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"
    return "\n".join([line(heads), line(["---"] * len(heads)), *map(line, rows)])


def time_table(chapter: str, bench_dir: Path = BENCH) -> TimeTable:
    """The measured times of ``chapter`` (e.g. ``"00_long_tail"``), for a chapter's cell:
    the newest ``lt-lab book time`` record of each setting, flagged when the chapter changed
    after it."""
    rows = chapter_times(chapter, bench_dir)
    newest = max((row["created"] for row in rows), default="")
    return TimeTable(chapter, rows, changed_since(chapter, newest) if rows else None)


def course_times(bench_dir: Path = BENCH, chapters: list[Path] | None = None) -> str:
    """The course page's table: each chapter's newest wall time at the default profile from
    an empty store and from the stored records, with the machine and date measured."""
    heads = ["chapter", "from an empty store", "from the stored records", "measured on"]
    rows, measured = [], False
    for notebook in chapters or chapter_notebooks():
        times = [r for r in chapter_times(notebook.stem, bench_dir) if r["profile"] == "quick"]
        by_start = {r["empty_store"]: r for r in times}
        cells = [duration(by_start[s]["wall_time_s"]) if s in by_start else "not measured"
                 for s in (True, False)]
        where = "; ".join(sorted({f"{r['device']}, {r['created'][:10]}"
                                  for r in by_start.values()})) or "—"
        stale = changed_since(notebook.stem, max((r["created"] for r in times), default=""))
        if stale:
            where += f" (the chapter changed on {stale})"
        measured |= bool(times)
        rows.append([f"{{doc}}`../chapters/{notebook.stem}`", *cells, where])
    if not measured:
        return f"*Times: {NO_RECORD}.*\n"
    return markdown_table(heads, rows) + "\n"


def write_course_times(folder: Path, bench_dir: Path = BENCH,
                       chapters: list[Path] | None = None) -> Path:
    """Write :func:`course_times` into ``folder`` (the staged ``book/``) for the course page."""
    path = Path(folder) / COURSE_TIMES
    path.write_text(course_times(bench_dir, chapters))
    return path

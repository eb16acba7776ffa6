import json
import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lt_lab.config import CACHE_VERSION, make_config
from lt_lab.io import write_json_atomic
from lt_lab.results import flatten, table


def _record(config, acc=0.5):
    return {"key": config.key(), "kind": config.kind, "cache_version": CACHE_VERSION,
            "config": config.to_dict(), "seed": config.seed,
            "metrics": {"acc": acc, "balanced_acc": acc}, "wall_time_s": 1.0, "device": "cpu"}


def test_save_then_load(store):
    config = make_config("smoke")
    path = store.save(_record(config))
    assert path.name == f"{config.key()}.json"
    assert store.load(config)["metrics"]["acc"] == 0.5
    assert store.load(config.replace(seed=9)) is None


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    write_json_atomic(tmp_path / "a.json", {"x": 1})
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
    with pytest.raises(TypeError):  # not JSON-serialisable: the old file must survive intact
        write_json_atomic(tmp_path / "a.json", {"x": object()})
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_corrupt_record_is_reported_and_ignored(store):
    config = make_config("smoke")
    store.save(_record(config))
    store.path("0000badbad000000").write_text("{ not json")
    store.path("1111111111111111").write_text('{"no": "metrics"}')
    with pytest.warns(UserWarning, match="unreadable run record") as reports:
        records = store.records()
    assert [r["key"] for r in records] == [config.key()]
    assert {"0000badbad000000.json", "1111111111111111.json"} <= {
        str(w.message).split(": ")[0].rsplit("/", 1)[1] for w in reports}
    assert any("no key, kind, cache_version" in str(w.message) for w in reports)
    store.path(config.key()).write_text("[truncated")
    with pytest.warns(UserWarning):
        assert store.load(config) is None


def test_a_bad_record_is_reported_once_per_process(store, recwarn):
    store.root.mkdir(parents=True)
    store.path("2222222222222222").write_text("{ not json")
    store.records()
    store.records()
    assert sum("2222222222222222" in str(w.message) for w in recwarn) == 1


def test_a_record_without_its_kinds_required_fields_is_absent(store):
    from lt_lab.regression import make_regression_config

    config = make_regression_config("smoke")
    store.root.mkdir(parents=True)
    store.path(config.key()).write_text(json.dumps(_record(config)))  # no per_bin, bins
    with pytest.warns(UserWarning, match="a regression record without per_bin, bins"):
        assert store.load(config) is None


def test_an_incomplete_record_is_never_written(store):
    from lt_lab.errors import ConfigError

    with pytest.raises(ConfigError, match="no kind"):
        store.save({"key": "x", "config": {}, "metrics": {}})


def test_an_unwritable_store_is_an_error_naming_it(tmp_path):
    from lt_lab.results import ResultsStore, StoreError

    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.raises(StoreError, match=str(blocked)):
        ResultsStore(blocked).save(_record(make_config("smoke")))


def test_records_are_written_readable_by_the_group(store):
    import os
    import stat

    old = os.umask(0o022)
    try:
        path = store.save(_record(make_config("smoke")))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_record_of_an_older_cache_version_is_not_served(store):
    config = make_config("smoke")
    record = _record(config)
    record["cache_version"] = CACHE_VERSION - 1
    store.save(record)
    assert store.load(config) is None


def test_table_has_one_row_per_record(store):
    records = [_record(make_config("smoke", seed=s), acc=0.1 * s) for s in range(3)]
    frame = table(records)
    assert list(frame["seed"]) == [0, 1, 2]
    assert list(frame["acc"]) == pytest.approx([0.0, 0.1, 0.2])
    assert flatten(records[0])["loss_params"] == "{}"


# ---------------------------------------------------------------- any JSON in a record file

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)
FIELDS = ("key", "kind", "cache_version", "config", "seed", "metrics", "class_names",
          "class_counts", "per_class_acc", "wall_time_s", "device")
CONFIG = make_config("smoke", seed=7)


@st.composite
def record_files(draw):
    """Any JSON at all, or a record whose fields each may be replaced by any JSON (so the
    checks past the first are reached too)."""
    if draw(st.booleans()):
        return draw(JSON)
    record = _record(CONFIG)
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=4, unique=True)):
        if draw(st.booleans()):
            record[name] = draw(JSON)
        else:
            record.pop(name, None)
    return record


@settings(max_examples=150, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(contents=record_files())
def test_any_json_in_a_record_file_never_crashes_the_store_or_the_listing(contents, capsys):
    from lt_lab.cli import main
    from lt_lab.results import ResultsStore

    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        for store in ("loaded", "listed"):  # a bad file is reported once per process: two
            Path(folder, store).mkdir()
            Path(folder, store, f"{CONFIG.key()}.json").write_text(json.dumps(contents))
        path = Path(folder) / "loaded" / f"{CONFIG.key()}.json"
        loaded = ResultsStore(path.parent).load(CONFIG)
        assert loaded is None or loaded["key"] == CONFIG.key()
        reported = " ".join(str(warning.message) for warning in seen)
        old = isinstance(contents, dict) and contents.get("cache_version") != CACHE_VERSION
        assert loaded is not None or path.name in reported or old, contents
        assert main(["results", "--results-dir", str(Path(folder) / "listed")]) == 0
        captured = capsys.readouterr()
        assert "Traceback" not in captured.err and CONFIG.key() in captured.out + captured.err

import json

import pytest

from lt_lab.config import CACHE_VERSION, make_config
from lt_lab.results import flatten, table, write_json_atomic


def _record(config, acc=0.5):
    return {"key": config.key(), "cache_version": CACHE_VERSION, "config": config.to_dict(),
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
    with pytest.warns(UserWarning, match="corrupt run record"):
        records = store.records()
    assert [r["key"] for r in records] == [config.key()]
    store.path(config.key()).write_text("[truncated")
    with pytest.warns(UserWarning):
        assert store.load(config) is None


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

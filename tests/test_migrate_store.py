"""scripts/migrate_store.py maps a store of the old key scheme to the one-config-base scheme."""

import importlib.util
import json
from pathlib import Path

from lt_lab.config import make_config
from lt_lab.regression import make_regression_config

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "migrate_store.py"


def _migrate_module():
    spec = importlib.util.spec_from_file_location("migrate_store", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _old_classification(**changes) -> dict:
    config = {**make_config("quick").to_dict(), "posthoc_taus": [0.0, 1.0],
              "collapse_every": 0, "classifier_fixes": [], "val_per_class": 20,
              "loss": "ldam", "head": "cosine", "loss_params": {"drw_epoch": 12}, **changes}
    del config["analyses"], config["precision"]
    return {"key": "0123456789abcdef", "cache_version": 1, "config": config, "seed": 0,
            "metrics": {"acc": 0.5}}


def test_an_old_classification_record_gets_the_key_of_its_new_config(tmp_path):
    (tmp_path / "0123456789abcdef.json").write_text(json.dumps(_old_classification()))
    moved, unchanged, problems = _migrate_module().migrate(tmp_path)
    expected = make_config("quick", precision="fp32", loss="ldam", head="cosine",
                           loss_params={"drw_start": 0.75},
                           analyses={"posthoc": {"taus": [0.0, 1.0]}})
    assert (moved, unchanged, problems) == (1, 0, [])
    record = json.loads((tmp_path / f"{expected.key()}.json").read_text())
    assert record["kind"] == "classification" and record["key"] == expected.key()
    assert record["config"]["val_per_class"] == 0  # no classifier fixes: no split was used
    assert not (tmp_path / "0123456789abcdef.json").exists()
    assert _migrate_module().migrate(tmp_path) == (0, 1, [])  # a second run changes nothing


def test_a_rounded_default_maps_back_to_the_default(tmp_path):
    config = make_regression_config("quick", precision="fp32").to_dict()
    config["lr_milestones"] = [0.666667, 0.888889]  # as records stored 2/3 and 8/9
    config["ranksim_weight"] = config.pop("ranksim_gamma")
    record = {"key": "x", "kind": "regression", "cache_version": 1, "config": config,
              "seed": 0, "metrics": {}}
    new = _migrate_module().migrate_record(record)
    assert new["key"] == make_regression_config("quick", precision="fp32").key()


def test_any_drw_epoch_maps_and_an_unreadable_record_is_reported_and_left(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(_old_classification(
        epochs=7, loss_params={"drw_epoch": 3}, lr_milestones=[0.5])))
    assert _migrate_module().migrate(tmp_path)[:2] == (1, 0)  # 3/7 rounds back to 3: fine
    (tmp_path / "b.json").write_text("{ not json")
    moved, unchanged, problems = _migrate_module().migrate(tmp_path)
    assert problems and problems[0].startswith("b.json")

"""Retrain stored records and compare them number for number with the store.

    python scripts/retrain_check.py                 # one record of every kind and analysis
    python scripts/retrain_check.py KEY [KEY ...]   # these records

Bit-identical numbers are expected on the hardware that made the records (the record's
``device``); elsewhere expect small differences. Exits 1 if any record differs.
"""

from __future__ import annotations

import sys

from lt_lab.config import config_from_dict
from lt_lab.grid import run
from lt_lab.results import ResultsStore

COMPARED = ("metrics", "per_class_acc", "extras", "curves", "per_bin", "train_metrics",
            "geometry", "bias", "class_counts")


def sample(store: ResultsStore) -> list[dict]:
    """The first record of each kind, and of each classification analysis and DRW loss."""
    chosen, seen = [], set()
    for record in store.records():
        config = record["config"]
        tags = {record["kind"]}
        if record["kind"] == "classification":
            tags = {f"analysis:{name}" for name in config["analyses"]} or {"classification"}
            if "drw_start" in config["loss_params"]:
                tags.add("drw")
        new = tags - seen
        if new and record["config"].get("profile") != "paper":
            chosen.append(record)
            seen |= tags
    return chosen


def differences(stored: dict, again: dict) -> list[str]:
    return [name for name in COMPARED if stored.get(name) != again.get(name)]


def main(keys: list[str]) -> int:
    store = ResultsStore()
    records = [store.read(store.path(key)) for key in keys] if keys else sample(store)
    failed = 0
    for record in records:
        config = config_from_dict(record["config"], record["kind"])
        again = run(config, cache=False, save=False)
        diff = differences(record, again)
        failed += bool(diff)
        status = "identical" if not diff else f"DIFFERS in {', '.join(diff)}"
        print(f"{record['key']} {record['kind']:<14} {sorted(config.to_dict().get('analyses', {}))}"
              f" {record['wall_time_s']:>6.1f} s → {again['wall_time_s']:>6.1f} s  {status}",
              flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

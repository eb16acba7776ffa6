"""Migrate a results store to the one-config-base key scheme (lt_lab after the engine redesign).

    python scripts/migrate_store.py [RESULTS_DIR]      # default: data/results

What changed, and how each record maps (no number in a record changes):

* every record carries ``kind`` (old classification records had none);
* one key rule for every kind: ``kind``, the cache version and the fields that differ from
  their defaults, without ``device`` and ``profile`` (the simulator's key included
  ``profile``; classification had a list of fields left out at their default);
* classification configs: ``posthoc_taus``, ``collapse_every`` and ``classifier_fixes``
  became ``analyses`` ({"posthoc": {"taus"}}, {"collapse": {"every"}},
  {"classifier_fixes": {"fixes"}}); ``val_per_class`` is 0 unless the run had classifier
  fixes (it was read only then); a loss's ``drw_epoch`` (an epoch) became ``drw_start``
  (a fraction of training, ``drw_epoch / epochs``, checked to round back exactly);
* regression configs: ``ranksim_weight`` became ``ranksim_gamma`` (RankSim's name);
* configs are stored exactly as keyed: a value stored rounded to 6 decimals that equals its
  field's default after rounding (the regression milestones 2/3 and 8/9) is the default.

Each record is rewritten under its new key and the old file removed; a record that does not
map is left in place and reported. Running it twice changes nothing the second time.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from lt_lab.config import KINDS, config_from_dict
from lt_lab.io import write_json_atomic
from lt_lab.results import round_floats

ROOT = Path(__file__).resolve().parents[1]


def migrate_config(kind: str, values: dict) -> dict:
    values = dict(values)
    if kind == "classification" and "analyses" not in values:
        analyses = {}
        taus = values.pop("posthoc_taus", [])
        every = values.pop("collapse_every", 0)
        fixes = values.pop("classifier_fixes", [])
        val_per_class = values.pop("val_per_class", 20)
        if taus:
            analyses["posthoc"] = {"taus": [float(t) for t in taus]}
        if every:
            analyses["collapse"] = {"every": int(every)}
        if fixes:
            analyses["classifier_fixes"] = {"fixes": list(fixes)}
        values["analyses"] = analyses
        values["val_per_class"] = val_per_class if fixes else 0
        params = dict(values.get("loss_params") or {})
        if params.get("drw_epoch") is not None:
            drw_epoch, epochs = params.pop("drw_epoch"), values["epochs"]
            params["drw_start"] = drw_epoch / epochs
            if round(params["drw_start"] * epochs) != drw_epoch:
                raise ValueError(f"drw_epoch={drw_epoch} of {epochs} does not round back")
        elif "drw_epoch" in params:
            params.pop("drw_epoch")
        values["loss_params"] = params
    elif kind == "regression" and "ranksim_weight" in values:
        values["ranksim_gamma"] = values.pop("ranksim_weight")
    return values


def unround(kind: str, values: dict) -> dict:
    """Records stored their config rounded to 6 decimals (2/3 as 0.666667), which would key
    another config: a value equal to its field's default after that rounding is the default."""
    defaults = KINDS[kind]().to_dict()
    return {name: defaults[name] if name in defaults and value != defaults[name]
            and value == round_floats(defaults[name]) else value
            for name, value in values.items()}


def migrate_record(record: dict) -> dict:
    kind = record.get("kind", "classification")
    config = config_from_dict(unround(kind, migrate_config(kind, record["config"])), kind)
    return {**record, "kind": kind, "config": config.to_dict(), "key": config.key()}


def migrate(root: Path) -> tuple[int, int, list[str]]:
    moved = unchanged = 0
    problems = []
    for path in sorted(root.glob("*.json")):
        try:
            record = json.loads(path.read_text())
            new = migrate_record(record)
        except Exception as error:  # noqa: BLE001 - report and leave the file
            problems.append(f"{path.name}: {error}")
            continue
        target = root / f"{new['key']}.json"
        if new == record and target == path:
            unchanged += 1
            continue
        if target.exists() and target != path:
            problems.append(f"{path.name}: {target.name} exists already")
            continue
        write_json_atomic(target, new)
        if target != path:
            path.unlink()
        moved += 1
    return moved, unchanged, problems


def main(argv: list[str]) -> int:
    root = Path(argv[0]) if argv else ROOT / "data" / "results"
    moved, unchanged, problems = migrate(root)
    print(f"{root}: {moved} records migrated, {unchanged} already current, "
          f"{len(problems)} problems")
    for problem in problems:
        print(f"  {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

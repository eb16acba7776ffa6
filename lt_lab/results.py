"""The results store: one small JSON record per run, keyed by the hash of its config.

A record holds the full config, seed, final and per-epoch metrics, per-class accuracies,
wall time, device, software versions and git commit — enough to rebuild the book without
retraining and to retrain on demand. No model weights.

Where records live: ``$LT_LAB_RESULTS`` if set; else ``data/results/`` of the repository
when lt_lab runs from a checkout; else ``~/.cache/lt_lab/results``.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path

from lt_lab.config import CACHE_VERSION, RunConfig

RESULTS_ENV = "LT_LAB_RESULTS"


def default_results_dir() -> Path:
    if os.environ.get(RESULTS_ENV):
        return Path(os.environ[RESULTS_ENV])
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").exists():
        return checkout / "data" / "results"
    return Path.home() / ".cache" / "lt_lab" / "results"


def write_json_atomic(path: Path, payload) -> Path:
    """Write JSON to a temporary file beside ``path``, then rename: never a half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as file:
            json.dump(payload, file, indent=1, sort_keys=True)
            file.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


class ResultsStore:
    """A folder of run records, ``<key>.json`` each."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_results_dir()

    def path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def _read(self, path: Path) -> dict | None:
        try:
            record = json.loads(path.read_text())
            if not isinstance(record, dict) or "config" not in record or "metrics" not in record:
                raise ValueError("not a run record (no config or metrics)")
            return record
        except (OSError, ValueError) as error:
            warnings.warn(f"ignoring corrupt run record {path}: {error}", stacklevel=3)
            return None

    def load(self, config: RunConfig) -> dict | None:
        """The stored record of ``config``, or None (absent, corrupt or from an old version)."""
        path = self.path(config.key())
        if not path.exists():
            return None
        record = self._read(path)
        if record is None or record.get("cache_version") != CACHE_VERSION:
            return None
        return record

    def save(self, record: dict) -> Path:
        return write_json_atomic(self.path(record["key"]), record)

    def records(self) -> list[dict]:
        """Every readable record, oldest file name first; corrupt ones warned and skipped."""
        if not self.root.exists():
            return []
        found = (self._read(path) for path in sorted(self.root.glob("*.json")))
        return [record for record in found if record is not None]


def flatten(record: dict) -> dict:
    """One row: the config fields, then the final metrics, then wall time and device."""
    row = dict(record["config"])
    row["loss_params"] = json.dumps(row.get("loss_params", {}), sort_keys=True)
    row["lr_milestones"] = tuple(row.get("lr_milestones", ()))
    row.update(record["metrics"])
    row.update(wall_time_s=record.get("wall_time_s"), device=record.get("device"),
               key=record.get("key"))
    return row


def table(records: list[dict]):
    """A pandas DataFrame with one row per record (needs the ``book`` extra: pandas)."""
    import pandas as pd

    return pd.DataFrame([flatten(record) for record in records])

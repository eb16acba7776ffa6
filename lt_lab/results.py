"""The results store: one small JSON record per run, keyed by the hash of its config.

A record holds its ``kind`` (classification, regression, ufm...), the full config, seed,
final and per-epoch metrics, wall time and its provenance (device, software versions, git
commit) — enough to rebuild the book without retraining and to retrain on demand. No model
weights. Every kind of run is read and written here, by one policy:

* a record is written to a temporary file in the store's folder and renamed into place,
  readable by the group (:func:`lt_lab.io.write_json_atomic`);
* a record that cannot be read or parsed, or lacks its kind's required fields, is reported
  once (path and reason) and treated as absent, so the run is trained again;
* a record of another cache version is absent without a report (it is simply old);
* a record this user may not read (another user's, mode 0600) is reported as not readable by
  this user, never as corrupt, and treated as absent;
* a record's key is checked on save and on load: 16 hex digits (never a path), its file's
  name, and its own config's key (a record under another run's key is reported, absent);
* a store folder that cannot be read or written is an error naming it; temporary files
  that killed writers left are swept before a run (:meth:`ResultsStore.sweep`).

Where records live: ``$LT_LAB_RESULTS`` if set; else ``data/results/`` of the repository
when lt_lab runs from a checkout; else ``~/.cache/lt_lab/results``.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import warnings
from pathlib import Path

from lt_lab.config import CACHE_VERSION, KINDS, Config, config_from_dict
from lt_lab.errors import ConfigError
from lt_lab.io import unwritable, write_json_atomic
from lt_lab.provenance import provenance

RESULTS_ENV = "LT_LAB_RESULTS"
CHECKPOINTS = ".checkpoints"  # the folder of interrupted runs' checkpoints, in the store
STALE_TEMPORARY_S = 3600.0  # a temporary file untouched this long was left by a killed writer
REQUIRED_FIELDS = ("key", "kind", "cache_version", "config", "seed", "metrics")
KEY = re.compile(r"[0-9a-f]{16}")  # Config.key(): 16 hex digits


class StoreError(OSError):
    """The results store's folder cannot be read or written."""


def default_results_dir() -> Path:
    if os.environ.get(RESULTS_ENV):
        return Path(os.environ[RESULTS_ENV])
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").exists():
        return checkout / "data" / "results"
    return Path.home() / ".cache" / "lt_lab" / "results"


def check_record(record) -> None:
    """Raise ValueError unless ``record`` has the fields every record needs, and a known kind
    whose required fields (the config class's ``record_fields``, dotted paths such as
    ``"metrics.acc"``) it has too; and a key of 16 hex digits that, in a record of this
    cache version, is the key its own config computes (:func:`check_key`). Any JSON value
    gives a ValueError or passes, nothing else."""
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    missing = [name for name in REQUIRED_FIELDS if name not in record]
    if missing:
        raise ValueError(f"not a run record: no {', '.join(missing)}")
    if not isinstance(record["kind"], str) or record["kind"] not in KINDS:
        raise ValueError(f"unknown kind {_short(record['kind'])}; known: "
                         f"{', '.join(sorted(KINDS))}")
    if not isinstance(record["metrics"], dict) or not isinstance(record["config"], dict):
        raise ValueError("its metrics and config are not JSON objects")
    version = record["cache_version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise ValueError(f"its cache_version {_short(version)} is not a version number")
    missing = [name for name in getattr(KINDS[record["kind"]], "record_fields", ())
               if not _has(record, name)]
    if missing:
        raise ValueError(f"a {record['kind']} record without {', '.join(missing)}")
    check_key(record)


def check_key(record: dict) -> None:
    """Raise ValueError unless the record's key is 16 hex digits (a file name in the store,
    never a path) and, in a record of this cache version, the key of its own config: a
    record copied under another config's key (seed 0's under seed 1's) is not that run."""
    key = record["key"]
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise ValueError(f"its key {_short(key)} is not 16 hex digits (a config's key)")
    if record["cache_version"] != CACHE_VERSION:
        return  # an older record: absent anyway, its key computed by an older rule
    computed = config_key(record["config"], record["kind"])
    if computed != key:
        raise ValueError(f"its key {key} is not the key of its config ({computed}): the "
                         "record of another run, stored under this key")


def config_key(values: dict, kind: str) -> str:
    """The key of the config stored as ``values`` (ValueError naming what is invalid)."""
    try:
        return config_from_dict(values, kind).key()
    except (TypeError, ValueError, OverflowError, ArithmeticError, RecursionError) as error:
        raise ValueError(f"its config is not a valid {kind} config ({error})") from None


def _short(value, length: int = 60) -> str:
    """``repr(value)``, cut to ``length`` characters (a record may hold anything)."""
    text = repr(value)
    return text if len(text) <= length else text[:length - 3] + "..."


def _has(record: dict, path: str) -> bool:
    """Whether ``record`` holds the dotted ``path`` (``"metrics.acc"``)."""
    value = record
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return False
        value = value[part]
    return True


def round_floats(value, digits: int = 6):
    """Floats rounded to ``digits`` decimals, NaN as None, through lists and dicts."""
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, digits)
    if isinstance(value, list):
        return [round_floats(v, digits) for v in value]
    if isinstance(value, dict):
        return {k: round_floats(v, digits) for k, v in value.items()}
    return value


def run_record(config: Config, fields: dict, *, wall_time_s: float, device,
               precision: str) -> dict:
    """A trained run's JSON-ready record: what every record has (kind, key, cache version,
    seed, wall time, resolved precision, provenance, the copy of the data read) around the
    kind's own ``fields``.
    Numbers are rounded to 6 decimals (NaN, e.g. an empty group, becomes null); the config
    is stored exactly as keyed (rounding 2/3 would make it another config)."""
    record = round_floats({
        "kind": config.kind,
        "key": config.key(),
        "cache_version": CACHE_VERSION,
        "seed": config.seed,
        **fields,
        "wall_time_s": round(wall_time_s, 2),
        "precision": precision,  # resolved; the config holds the requested one
        **provenance(device),
        **data_source(config),
    })
    return {**record, "config": config.to_dict()}


def data_source(config: Config) -> dict:
    """``{"data_source": path}``: which copy of the config's dataset this process read (its
    folder or archive, or ``"scikit-learn"``); empty for a run without a dataset (ufm) or
    one trained on data handed in (benchmarks)."""
    from lt_lab.data.sources import loaded_from

    source = loaded_from(getattr(config, "dataset", None))
    return {"data_source": source} if source else {}


class ResultsStore:
    """A folder of run records, ``<key>.json`` each."""

    _reported: set[str] = set()  # one report per bad file and process

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else default_results_dir()

    def path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def _report(self, path: Path, reason: str) -> None:
        if str(path) not in self._reported:
            self._reported.add(str(path))
            warnings.warn(f"ignoring unreadable run record {path}: {reason}", stacklevel=4)

    def read(self, path: Path) -> dict | None:
        """The record at ``path``, or None (reported once) if it cannot be used: whatever
        the file holds, and a record whose key is not its file's name."""
        try:
            record = json.loads(path.read_text())
            check_record(record)
            if path.name != f"{record['key']}.json":
                raise ValueError(f"its key {record['key']} is not its file's name")
            return record
        except PermissionError:
            try:
                info = path.stat()
                file = f"; the file: mode {info.st_mode & 0o777:04o}, owner uid {info.st_uid}"
            except OSError:
                file = ""
            self._report(path, f"not readable by this user (uid {os.getuid()}{file}): not "
                         "corrupt; its owner can share it with chmod g+r (or umask 002)")
            return None
        except (OSError, ValueError, RecursionError) as error:  # RecursionError: deep JSON
            self._report(path, str(error) or type(error).__name__)
            return None

    def load(self, config: Config) -> dict | None:
        """The stored record of ``config``, or None (absent, unusable or from an old version)."""
        path = self.path(config.key())
        if not path.exists():
            return None
        record = self.read(path)
        if record is None or record["cache_version"] != CACHE_VERSION:
            return None
        if record["kind"] != config.kind:
            self._report(path, f"a {record['kind']} record under a {config.kind} config's key")
            return None
        return record

    def save(self, record: dict) -> Path:
        """Write ``record`` as ``<key>.json``; ConfigError for a record that is incomplete or
        whose key is not its config's (so never a path outside the store)."""
        try:
            check_record(record)
        except ValueError as error:
            raise ConfigError(f"refusing to store an incomplete or mis-keyed record: "
                              f"{error}") from None
        try:
            return write_json_atomic(self.path(record["key"]), record)
        except OSError as error:
            raise StoreError(f"cannot write to the results store {self.root}: {error}; set "
                             f"${RESULTS_ENV} to a folder you can write") from None

    def check_writable(self) -> None:
        """Raise StoreError now, naming the folder, unless a record can be written here (a
        file is created and removed): a run checks this before it trains, so a read-only
        store, or one whose path is a file, fails in a second rather than after training.
        Temporary files that killed writers left behind are swept (:meth:`sweep`)."""
        reason = unwritable(self.root)
        if reason:
            raise StoreError(f"cannot write to the results store {self.root} ({reason}); set "
                             f"${RESULTS_ENV} (or --results-dir) to a folder you can write")
        self.sweep()

    def sweep(self, older_than_s: float = STALE_TEMPORARY_S) -> list[Path]:
        """Delete the temporary files of records and checkpoints that no one has written to
        for ``older_than_s`` seconds (a writer killed mid-write: SIGKILL, the OOM killer, a
        node lost); the paths deleted. A live writer touches its file every moment, and
        renames it within seconds. Deleting may fail (another user's file): it stays."""
        now, swept = time.time(), []
        for folder in (self.root, self.root / CHECKPOINTS):
            for path in folder.glob(".*.tmp"):
                try:
                    if now - path.stat().st_mtime > older_than_s:
                        path.unlink()
                        swept.append(path)
                except OSError:
                    continue
        if swept:
            warnings.warn(f"deleted {len(swept)} temporary file(s) that interrupted writes "
                          f"left in {self.root} (the run they belonged to resumes from its "
                          "last complete checkpoint)", stacklevel=2)
        return swept

    def record_paths(self) -> list[Path]:
        """The store's ``*.json`` files, sorted (StoreError naming a folder it cannot list)."""
        try:
            with os.scandir(self.root) as entries:
                names = sorted(entry.name for entry in entries)
        except OSError as error:
            reason = ("it is not a folder" if isinstance(error, NotADirectoryError)
                      else error.strerror or str(error))
            raise StoreError(f"cannot read the results store {self.root} ({reason}); set "
                             f"${RESULTS_ENV} (or --results-dir) to a folder you can read")\
                from None
        return [self.root / name for name in names
                if name.endswith(".json") and not name.startswith(".")]

    # A run's checkpoint lives beside the store, out of the records' way (no .json), until
    # its record is written (lt_lab.loop.Checkpointer).
    def checkpoint_path(self, key: str) -> Path:
        return self.root / CHECKPOINTS / f"{key}.pt"

    def remove_checkpoint(self, key: str) -> None:
        """Delete the run's checkpoint (its record is stored); a failure only warns."""
        try:
            self.checkpoint_path(key).unlink(missing_ok=True)
        except OSError as error:
            warnings.warn(f"could not delete the checkpoint {self.checkpoint_path(key)} of a "
                          f"stored run ({error.strerror or error}); delete it by hand",
                          stacklevel=2)

    def records(self, kind: str | None = None) -> list[dict]:
        """Every usable record (of ``kind``, if given), by file name; bad ones reported once.
        A store folder that does not exist holds none; one that is a file, or cannot be
        listed, is a StoreError naming it (never "0 records")."""
        if not self.root.exists():
            return []
        found = (self.read(path) for path in self.record_paths())
        return [r for r in found if r is not None and (kind is None or r["kind"] == kind)]


def flatten(record: dict) -> dict:
    """One row: the config fields, then the final metrics, then wall time and device."""
    row = dict(record["config"])
    for name, value in row.items():
        if isinstance(value, (dict, list)):
            row[name] = json.dumps(value, sort_keys=True)
    row.update(record["metrics"])
    row.update(kind=record.get("kind"), wall_time_s=record.get("wall_time_s"),
               device=record.get("device"), key=record.get("key"))
    return row


def table(records: list[dict]):
    """A pandas DataFrame with one row per record (needs the ``book`` extra: pandas)."""
    import pandas as pd

    return pd.DataFrame([flatten(record) for record in records])

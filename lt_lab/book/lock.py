"""Pre-registration a reader can check: the claims lock and the claims' history.

``book/claims.lock.json`` holds, per claim id, the fields that decide its verdict
(:data:`HASHED_FIELDS`: statement, measure, unit, direction, thresholds, margin, null,
category, and ``escalated`` once a claim is escalated to seeds 0–9 — not the paper's reported
text, so rewording a source note does not trip it), their hash, and every amendment since it
was first locked: what changed, why and when. The test
suite fails when a chapter's declared claim differs from its lock without a recorded
amendment; ``lt-lab book lock`` adds new claims and refuses changed ones unless given
``--amend "reason"``.

The declared claims are read from the chapters' ``claims`` cells without running a chapter:
the ``parameters`` cell is executed, then any name the claims cell needs beyond it is taken
from its last plain assignment in an earlier cell (``unit = "°" if ... else "years"``), then
the claims cell itself.

The ledger also shows when each claim was declared: the first commit whose chapters contain
its id (``git log -S``).
"""

from __future__ import annotations

import ast
import builtins
import datetime as dt
import hashlib
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from lt_lab.book import claims as claims_module
from lt_lab.book.paths import CHAPTERS, ROOT, chapter_notebooks
from lt_lab.errors import ConfigError

LOCK = ROOT / "book" / "claims.lock.json"
HASHED_FIELDS = ("statement", "measure", "unit", "direction", "threshold", "partly_threshold",
                 "margin", "null", "category")
ABOUT = ("Pre-registered claims of lt-book: per claim id, the fields that decide its verdict, "
         "their sha256 and every amendment (what changed, why, when). Written by `lt-lab book "
         "lock`; tests/test_claims_lock.py fails when a chapter's claim differs from it.")


class LockError(ConfigError):
    """A declared claim differs from its lock and no amendment reason was given."""


# --- reading the declared claims from the chapters -------------------------------------------


def _cells(notebook: Path) -> list[dict]:
    return json.loads(Path(notebook).read_text())["cells"]


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _tagged(cells: list[dict], tag: str) -> int | None:
    return next((i for i, cell in enumerate(cells)
                 if tag in cell.get("metadata", {}).get("tags", [])), None)


def _needed(tree: ast.AST) -> set[str]:
    """The names ``tree`` reads."""
    return {node.id for node in ast.walk(tree)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}


def _assignments(cells: list[dict]) -> dict[str, ast.expr]:
    """The last top-level ``name = expression`` of each name in ``cells`` (in order)."""
    found = {}
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        try:
            tree = ast.parse(_source(cell))
        except SyntaxError:  # IPython magics (the Colab cell)
            continue
        for node in tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(
                    node.targets[0], ast.Name):
                found[node.targets[0].id] = node.value
    return found


def _resolve(names: set[str], namespace: dict, earlier: dict[str, ast.expr], notebook: Path,
             chain: tuple[str, ...] = ()) -> None:
    """Define each of ``names`` missing from ``namespace`` from its earlier assignment."""
    for name in sorted(names - set(namespace) - set(dir(builtins))):
        if name not in earlier or len(chain) > 5:
            through = f" (through {' -> '.join([*chain, name])})" if chain else ""
            raise ConfigError(f"{notebook.name}: the claims cell reads "
                              f"{(chain or (name,))[0]!r}{through}, which neither the "
                              "parameters cell nor a plain assignment before it defines")
        expression = ast.Expression(earlier[name])
        _resolve(_needed(expression), namespace, earlier, notebook, (*chain, name))
        namespace[name] = eval(compile(expression, str(notebook), "eval"), namespace)


def declared_claims(notebook: str | Path) -> list:
    """The claims ``notebook`` declares (its ``claims`` cell), at its default parameters."""
    notebook = Path(notebook)
    cells = _cells(notebook)
    parameters, claims_cell = _tagged(cells, "parameters"), _tagged(cells, "claims")
    if claims_cell is None:
        return []
    namespace = {"claims": claims_module, "Claim": claims_module.Claim}
    if parameters is not None:
        exec(compile(_source(cells[parameters]), str(notebook), "exec"), namespace)
    tree = ast.parse(_source(cells[claims_cell]))
    tree.body = [node for node in tree.body if not isinstance(node, ast.Expr)]  # no tables
    _resolve(_needed(tree), namespace, _assignments(cells[:claims_cell]), notebook)
    exec(compile(tree, str(notebook), "exec"), namespace)
    declared = namespace.get("declared")
    if not isinstance(declared, dict):
        raise ConfigError(f"{notebook.name}: the claims cell must assign "
                          "`declared = claims.declare(...)`")
    return list(declared.values())


def all_declared(notebooks=None) -> dict[str, tuple[str, object]]:
    """``{claim id: (chapter, claim)}`` over every chapter (ids must be unique in the book)."""
    found: dict[str, tuple[str, object]] = {}
    for notebook in notebooks or chapter_notebooks():
        for claim in declared_claims(notebook):
            if claim.id in found:
                raise ConfigError(f"claim id {claim.id!r} is declared by {found[claim.id][0]} "
                                  f"and by {Path(notebook).stem}")
            found[claim.id] = (Path(notebook).stem, claim)
    return found


# --- the lock --------------------------------------------------------------------------------


def locked_fields(claim) -> dict:
    """The fields of ``claim`` the lock hashes; ``escalated`` only once set, so that escalating
    a claim (seeds 0–9 after an inconclusive three) is an amendment and older hashes stay."""
    fields = {name: getattr(claim, name) for name in HASHED_FIELDS}
    if getattr(claim, "escalated", False):
        fields["escalated"] = True
    return fields


def fields_hash(fields: dict) -> str:
    """sha256 of the canonical JSON of ``fields`` (sorted keys, no spaces)."""
    text = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def claim_hash(claim) -> str:
    return fields_hash(locked_fields(claim))


def load_lock(path: str | Path = LOCK) -> dict:
    """The lock file (an empty lock when there is none)."""
    path = Path(path)
    if not path.exists():
        return {"about": ABOUT, "hashed_fields": list(HASHED_FIELDS), "claims": {}}
    return json.loads(path.read_text())


def write_lock(lock: dict, path: str | Path = LOCK) -> Path:
    """Write ``lock`` whole or not at all, readable (UTF-8, not escaped), in id order."""
    from lt_lab.io import write_atomic

    text = json.dumps(lock, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    path = write_atomic(Path(path), lambda file: file.write(text.encode()))
    path.chmod(0o644)  # a committed file, readable by all (the temporary was 0o600)
    return path


def _changes(old: dict, new: dict) -> dict:
    return {name: [old.get(name), new[name]] for name in new if old.get(name) != new[name]}


def check_lock(declared: dict, lock: dict) -> list[str]:
    """What differs between the declared claims (``{id: (chapter, claim)}``) and the lock:
    one line per unlocked, changed or withdrawn claim (empty: all agree)."""
    problems = []
    entries = lock.get("claims", {})
    for claim_id, (chapter, claim) in declared.items():
        entry = entries.get(claim_id)
        if entry is None or entry.get("withdrawn"):
            problems.append(f"{claim_id} ({chapter}): not in the lock; run `lt-lab book lock` "
                            "and commit the lock before training its runs")
        elif entry["hash"] != claim_hash(claim):
            changed = ", ".join(f"{name}: {old!r} -> {new!r}" for name, (old, new)
                                in _changes(entry["fields"], locked_fields(claim)).items())
            problems.append(f"{claim_id} ({chapter}): changed without an amendment ({changed}); "
                            "record why with `lt-lab book lock --amend \"reason\"`")
    for claim_id, entry in entries.items():
        if claim_id not in declared and not entry.get("withdrawn"):
            problems.append(f"{claim_id}: locked but no chapter declares it; record its "
                            "withdrawal with `lt-lab book lock --amend \"reason\"`")
    return problems


@dataclass
class LockUpdate:
    """What ``update_lock`` did: ids added, amended and withdrawn."""

    added: list[str] = field(default_factory=list)
    amended: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)


def update_lock(declared: dict, lock: dict, amend: str | dict | None = None,
                today: str | None = None, commit: str | None = None,
                with_results: bool = False) -> LockUpdate:
    """Bring ``lock`` (in place) up to the declared claims: add new claims; record changed
    and withdrawn ones as amendments with the reason ``amend`` (refused without one; a dict
    gives each claim id its own reason)."""
    today = today or dt.datetime.now(dt.timezone.utc).date().isoformat()
    entries = lock.setdefault("claims", {})
    lock["hashed_fields"] = list(HASHED_FIELDS)
    reasons = amend if isinstance(amend, dict) else {}
    default = amend if isinstance(amend, str) and amend else None
    live = {claim_id for claim_id, entry in entries.items() if not entry.get("withdrawn")}
    changed = {claim_id for claim_id, (_, claim) in declared.items() if claim_id in live
               and entries[claim_id]["hash"] != claim_hash(claim)} | (live - set(declared))
    blocked = sorted(claim_id for claim_id in changed if not reasons.get(claim_id, default))
    if blocked:
        problems = [line for line in check_lock(declared, lock)
                    if line.split()[0].rstrip(":") in blocked]
        raise LockError("claims differ from their lock; give the reason with --amend:\n  "
                        + "\n  ".join(problems))
    update = LockUpdate()
    when = {"date": today, **({"after_commit": commit} if commit else {})}
    for claim_id, (chapter, claim) in declared.items():
        fields, digest = locked_fields(claim), claim_hash(claim)
        entry = entries.get(claim_id)
        if entry is None or entry.get("withdrawn"):
            entries[claim_id] = {"chapter": chapter, "locked_on": today,
                                 "declared_with_results": with_results, "fields": fields,
                                 "hash": digest, "amendments": []}
            update.added.append(claim_id)
        elif entry["hash"] != digest:
            entry["amendments"].append({**when, "reason": reasons.get(claim_id, default),
                                        "changes": _changes(entry["fields"], fields),
                                        "hash": digest})
            entry.update(fields=fields, hash=digest)
            update.amended.append(claim_id)
        entry = entries[claim_id]
        entry["chapter"] = chapter
    for claim_id, entry in entries.items():
        if claim_id not in declared and not entry.get("withdrawn"):
            entry["withdrawn"] = {**when, "reason": reasons.get(claim_id, default)}
            update.withdrawn.append(claim_id)
    lock["claims"] = dict(sorted(entries.items()))
    return update


def lock_command(amend: str | None = None, path: str | Path = LOCK, notebooks=None) -> str:
    """``lt-lab book lock``: update the lock file from the chapters; a summary line."""
    from lt_lab.provenance import git_commit

    lock = load_lock(path)
    update = update_lock(all_declared(notebooks), lock, amend=amend, commit=git_commit())
    write_lock(lock, path)
    return (f"{path}: {len(lock['claims'])} claims; added {update.added or 'none'}, amended "
            f"{update.amended or 'none'}, withdrawn {update.withdrawn or 'none'}")


# --- history ---------------------------------------------------------------------------------


def declared_on(claim_id: str, root: Path = ROOT, folder: Path = CHAPTERS) -> dict | None:
    """The first commit whose chapters contain ``claim_id``: ``{"commit", "date"}`` (None
    when git or the history is not there, or the id is not committed yet)."""
    command = ["git", "-C", str(root), "log", f"-S{claim_id}", "--reverse",
               "--format=%h %ad", "--date=short", "--", str(folder.relative_to(root))]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = done.stdout.split("\n") if done.returncode == 0 else []
    if not lines or not lines[0].strip():
        return None
    commit, date = lines[0].split()
    return {"commit": commit, "date": date}

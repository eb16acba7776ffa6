"""Files written whole or not at all: JSON records, claims, benchmark figures."""

from __future__ import annotations

import codecs
import json
import os
import tempfile
from pathlib import Path

from lt_lab.errors import ConfigError


def write_json_atomic(path: str | Path, payload) -> Path:
    """Write ``payload`` as JSON (indented, keys sorted) with :func:`write_atomic`: a payload
    that cannot be serialised, or a failing disk, leaves the old file as it was."""

    def dump(file):
        text = codecs.getwriter("utf-8")(file)
        json.dump(payload, text, indent=1, sort_keys=True)
        text.write("\n")

    return write_atomic(path, dump)


def write_atomic(path: str | Path, write) -> Path:
    """Call ``write(file)`` on a temporary binary file beside ``path``, then rename it into
    place: a reader, or a run resuming after a crash, sees the old file or the new one, never
    half of one. E.g. ``write_atomic(p, lambda f: torch.save(state, f))``.

    The rename stays within the target folder, so it is atomic on POSIX file systems and NFS.
    The file gets the mode a plain ``open`` would give it (0o666 less the umask, 0o644 by
    default), so a shared store stays readable by the group (``mkstemp`` alone would leave
    it 0o600).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def unwritable(folder: str | Path) -> str | None:
    """Why a file cannot be written into ``folder`` (created if missing), or None when it
    can: a probe file is created and removed, so a read-only mount, a full quota of inodes,
    a path that is a file or a folder without permission all show now, before any work."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".write-probe-", suffix=".tmp")
        os.close(handle)
        os.unlink(probe)
    except FileExistsError:
        return "it is a file, not a folder"
    except OSError as error:
        return error.strerror or str(error)
    return None


def check_output(path: str | Path | None, option: str, *, folder: bool = False) -> None:
    """Raise OutputError naming ``option`` unless the output ``path`` can be written: its
    folder (``path`` itself when ``folder``) must take a new file, and a file's path must not
    be a folder. Commands call it before they work, so an hour's work is never lost to a
    read-only place. ``None`` (the command's default place) is not checked here."""
    if path is None:
        return
    path = Path(path)
    if not folder and path.is_dir():
        raise OutputError(f"{option} {path} is a folder; give the path of a file to write")
    reason = unwritable(path if folder else path.parent)
    if reason:
        raise OutputError(f"{option} {path}: cannot write there ({reason}); choose a place "
                          "you can write")


class OutputError(ConfigError):
    """An output path that cannot be written (a user's mistake, named, before any work)."""

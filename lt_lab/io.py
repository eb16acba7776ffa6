"""Files written whole or not at all: JSON records, claims, benchmark figures."""

from __future__ import annotations

import codecs
import json
import os
import tempfile
from pathlib import Path


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

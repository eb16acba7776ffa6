"""Downloading a dataset's published files, checked against their MD5 checksums."""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

DOWNLOAD_TIMEOUT_S = 30.0
_DOWNLOAD_CHUNK_BYTES = 1 << 16


def download(url: str, destination: Path, md5: str | None = None) -> None:
    """Fetch ``url`` to ``destination`` atomically, checking ``md5`` when given.

    The bytes go to a temporary file next to ``destination``, renamed into place only
    once complete (and matching ``md5``), so a failure never leaves a half-written file.
    """
    from tqdm import tqdm

    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".part"
    )
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with (
            os.fdopen(handle, "wb") as out,
            urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response,
        ):
            size = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(
                total=size,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=destination.name,
                disable=None,
            ) as progress:
                while chunk := response.read(_DOWNLOAD_CHUNK_BYTES):
                    out.write(chunk)
                    digest.update(chunk)
                    progress.update(len(chunk))
        if md5 is not None and digest.hexdigest() != md5:
            raise OSError(f"the download of {url} has MD5 {digest.hexdigest()}, not the "
                          f"published {md5}: it was deleted (truncated, or an error page from "
                          "a proxy?); try again")
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def md5_hex(path: Path, payload: bytes | None = None) -> str:
    """The MD5 of ``payload`` when given, else of the file at ``path`` (read in 1 MiB chunks)."""
    digest = hashlib.md5(usedforsecurity=False)
    if payload is not None:
        digest.update(payload)
        return digest.hexdigest()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def one_line(exc: BaseException) -> str:
    """An exception as ``Type: message`` on one line."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"

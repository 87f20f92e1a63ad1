"""Source files that live outside the Hugging Face Hub (the official QA SFT parquet and MAWPS test file in the
BMC repository, PromptPG's TabMWP problems), fetched once from a pinned URL into ``resources/sources/<name>/``.

Config (``sources: {<name>: {url, sha256, git_blob}}``): ``sha256`` pins the content; so does ``git_blob``, the
file's git object id (``git hash-object``) in the repository tree the URL names, which pins a file that could not
be read before it is fetched (the official repository's large parquet files: their ids are in its tree, their
bytes only behind the URL). A download whose digest differs fails and leaves no file. A source with neither is
fetched as is. The sha256 is always logged and written beside the file (``<file>.sha256``), to be copied into the
config.
"""

from __future__ import annotations

import hashlib
import shutil
import urllib.request
from pathlib import Path

from bmc.io import atomic_path, write_text

USER_AGENT = "bmc-workflow (snakemake)"


def sha256_of(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_blob_of(path: str | Path) -> str:
    """The file's git object id: sha1 of ``blob <size>\\0`` and its bytes (``git hash-object``)."""
    h = hashlib.sha1()
    h.update(b"blob %d\0" % Path(path).stat().st_size)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(url: str, out: str | Path, sha256: str | None = None, timeout_s: float = 120,
          git_blob: str | None = None) -> str:
    """Download ``url`` to ``out`` atomically (``file://`` URLs work too); check ``sha256`` and ``git_blob``; return
    the sha256."""
    out = Path(out)
    with atomic_path(out) as tmp:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        with urllib.request.urlopen(request, timeout=timeout_s) as response, open(tmp, "wb") as f:
            shutil.copyfileobj(response, f)
        digest = sha256_of(tmp)
        if sha256 and digest != sha256.lower():
            raise ValueError(f"{url}: sha256 {digest} differs from the pinned {sha256} (config sources); the file "
                             "changed upstream or the URL is wrong. Nothing was written.")
        if git_blob and (blob := git_blob_of(tmp)) != git_blob.lower():
            raise ValueError(f"{url}: git object id {blob} differs from the pinned {git_blob} (config sources); the "
                             "file is not the one in the pinned tree. Nothing was written.")
    write_text(f"{out}.sha256", f"{digest}  {out.name}\n")
    return digest

"""Source files that live outside the Hugging Face Hub (the official QA SFT parquet and MAWPS test file in the
BMC repository, PromptPG's TabMWP problems), fetched once from a pinned URL into ``resources/sources/<name>/``.

Config (``sources: {<name>: {url, sha256}}``): ``sha256`` pins the content; a download whose digest differs
fails and leaves no file. A source without ``sha256`` is fetched as is and its digest is logged and written
beside it (``<file>.sha256``), to be copied into the config.
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


def fetch(url: str, out: str | Path, sha256: str | None = None, timeout_s: float = 120) -> str:
    """Download ``url`` to ``out`` atomically (``file://`` URLs work too); check ``sha256``; return the digest."""
    out = Path(out)
    with atomic_path(out) as tmp:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
        with urllib.request.urlopen(request, timeout=timeout_s) as response, open(tmp, "wb") as f:
            shutil.copyfileobj(response, f)
        digest = sha256_of(tmp)
        if sha256 and digest != sha256.lower():
            raise ValueError(f"{url}: sha256 {digest} differs from the pinned {sha256} (config sources); the file "
                             "changed upstream or the URL is wrong. Nothing was written.")
    write_text(f"{out}.sha256", f"{digest}  {out.name}\n")
    return digest

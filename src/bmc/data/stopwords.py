"""NLTK's English stopword list, as the official code uses it, fetched with NLTK's own downloader.

The ``nltk`` wheel ships no corpora, so a rule downloads the ``stopwords`` package once (on a machine with
network access, e.g. the cluster's login node) and writes the English list to a plain file that training
jobs read; offline studies give their list in the config instead.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bmc.io import write_text


def fetch_nltk_stopwords(out_path: str | Path, index_url: str | None = None, language: str = "english") -> list[str]:
    import nltk.downloader

    with tempfile.TemporaryDirectory() as tmp:
        downloader = nltk.downloader.Downloader(server_index_url=index_url) if index_url else nltk.downloader.Downloader()
        if not downloader.download("stopwords", download_dir=tmp, quiet=True, raise_on_error=True):
            raise RuntimeError(f"NLTK could not download 'stopwords' from {index_url or downloader.url}")
        source = Path(tmp) / "corpora" / "stopwords" / language
        if not source.exists():  # NLTK may leave the zip unpacked only on first use
            import zipfile

            with zipfile.ZipFile(Path(tmp) / "corpora" / "stopwords.zip") as z:
                z.extractall(Path(tmp) / "corpora")
        words = [w.strip() for w in source.read_text(encoding="utf-8").splitlines() if w.strip()]
    if not words:
        raise RuntimeError(f"the NLTK {language} stopword list is empty")
    write_text(out_path, "\n".join(words) + "\n")
    return words


def read_stopwords(path: str | Path) -> list[str]:
    return [w.strip() for w in Path(path).read_text(encoding="utf-8").splitlines() if w.strip()]

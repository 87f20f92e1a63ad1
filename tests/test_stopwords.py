"""The nltk_stopwords rule's code, against a local NLTK data index in the hub's format (no network)."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import threading
import zipfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bmc.data.stopwords import fetch_nltk_stopwords, read_stopwords

pytestmark = pytest.mark.filterwarnings("ignore:Security Violation:RuntimeWarning")

WORDS = ["i", "me", "my", "the", "don't", "wouldn't"]


@contextlib.contextmanager
def served(directory):
    """An HTTP server on 127.0.0.1 serving ``directory``, like the hub's raw file host."""
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def local_index(tmp_path, base_url):
    pkg = tmp_path / "packages" / "corpora" / "stopwords.zip"
    pkg.parent.mkdir(parents=True)
    with zipfile.ZipFile(pkg, "w") as z:
        z.writestr("stopwords/english", "\n".join(WORDS) + "\n")
        z.writestr("stopwords/french", "le\nla\n")
        z.writestr("stopwords/README", "Stopwords Corpus\n")
    data = pkg.read_bytes()
    with zipfile.ZipFile(pkg) as z:
        unzipped = sum(info.file_size for info in z.infolist())
    index = tmp_path / "index.xml"
    index.write_text(
        '<?xml version="1.0"?>\n<?xml-stylesheet href="index.xsl" type="text/xsl"?>\n<nltk_data><packages>'
        f'<package id="stopwords" name="Stopwords Corpus" url="{base_url}/packages/corpora/stopwords.zip" '
        f'size="{len(data)}" '
        f'unzipped_size="{unzipped}" checksum="{hashlib.md5(data).hexdigest()}" '
        f'sha256_checksum="{hashlib.sha256(data).hexdigest()}" '
        'subdir="corpora" unzip="1" />'
        '</packages><collections></collections></nltk_data>\n')
    return f"{base_url}/index.xml"


@pytest.fixture(autouse=True)
def loopback_allowed(monkeypatch):
    """NLTK's SSRF guard refuses 127.0.0.1; these tests serve their index there, so they lift it for
    themselves (the workflow keeps NLTK's protection)."""
    import nltk.pathsec

    monkeypatch.setattr(nltk.pathsec, "ENFORCE", False)


def test_fetch_from_an_index_in_the_hub_format(tmp_path):
    out = tmp_path / "resources" / "stopwords_english.txt"
    with served(tmp_path) as url:
        assert fetch_nltk_stopwords(out, local_index(tmp_path, url)) == WORDS
    assert read_stopwords(out) == WORDS


def test_unreachable_index_fails_and_writes_nothing(tmp_path):
    out = tmp_path / "stopwords_english.txt"
    with served(tmp_path) as url, pytest.raises(Exception):
        fetch_nltk_stopwords(out, f"{url}/missing/index.xml")
    assert not out.exists()

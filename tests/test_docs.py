"""The documentation: the README stays short and points at docs/, and the docs/ site builds without a warning."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
PAGES = ["bridging", "methods", "evaluation", "cluster", "fidelity", "performance"]


def test_readme_is_short_and_opens_with_the_two_commands():
    lines = README.splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines"
    head = "\n".join(lines[:8])
    assert "make demo" in head and "make test" in head


def test_readme_links_resolve_and_name_every_docs_page():
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README)
    for link in links:
        if "://" not in link:
            assert (REPO / link).exists(), link
    for page in PAGES:
        assert f"docs/{page}.md" in links, page


def test_every_paper_table_and_figure_has_a_row_in_the_readme():
    for result in ("Table 1", "Table 2", "Table 3", "Table 4", "Table 5", "Table 9", "Figure 3", "Figure 4", "Figure 5",
                   "Figure 6"):
        assert re.search(rf"^\| {result}[: ]", README, flags=re.M), result


def test_the_site_builds_without_warnings(tmp_path):
    nav = yaml.safe_load((REPO / "mkdocs.yml").read_text())["nav"]
    assert {f"{p}.md" for p in PAGES} <= {file for item in nav for file in item.values()}
    for page in (REPO / "docs").glob("*.md"):
        assert "@@" not in page.read_text(encoding="utf-8"), f"{page.name} has an unfilled placeholder"
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                          cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "WARNING" not in done.stderr, done.stderr
    assert (tmp_path / "site" / "fidelity" / "index.html").exists()

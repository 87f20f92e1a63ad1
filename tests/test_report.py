"""The HTML report of a finished study (`snakemake --report`), opened in headless Chromium as a reader would:
the page renders, and a paper table opens with its cells."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from workflow_api import REPO

MICRO = REPO / "configs" / "micro.yaml"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# as root, offline: no sandbox, no background connections (the machine's network refuses them)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def make_report(workdir, path):
    subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory",
                    str(workdir), "--configfile", str(MICRO), "--report", str(path)],
                   check=True, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_report_is_one_page_with_every_table_and_figure(micro_study, tmp_path):
    report = tmp_path / "report.html"
    make_report(micro_study, report)
    html = report.read_text(encoding="utf-8")
    assert "<title>Snakemake Report</title>" in html
    for name in ("table1.html", "table3.html", "table4.html", "table5.html", "table9.html", "table1.csv",
                 "table1.png", "kl.png", "token_rewards_qa.png", "token_rewards_math.png", "config.yaml",
                 "cost.csv", "cost_editor.csv"):
        assert f"filename={name};" in html, name  # embedded as data (the page is self-contained)
    assert "micro</strong> study" in html or "micro study" in html


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)")
def test_report_renders_in_chromium(micro_study, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    report = tmp_path / "report.html"
    make_report(micro_study, report)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(report.as_uri())
            assert page.title() == "Snakemake Report"
            page.screenshot(path=tmp_path / "home.png")
            assert "micro study" in page.inner_text("body")
            page.get_by_text("Tables", exact=True).click()
            page.get_by_text("table1", exact=True).click()
            page.locator("label[for=toggle-format-HTML]").click()
            page.locator("a[iconname=eye]").first.click()
            frame = next(f for f in page.frames if "filename=table1.html" in f.url)
            frame.wait_for_selector("td")
            page.screenshot(path=tmp_path / "table1.png")
            rows = {frame.locator("tr").nth(i).locator("td").first.inner_text()
                    for i in range(frame.locator("tr").count()) if frame.locator("tr").nth(i).locator("td").count()}
            assert {"SFT", "DPO", "DPO-BMC"} <= rows
            assert "Table 1: QA and math accuracy" in frame.inner_text("h2")
            assert frame.get_by_text("72.8", exact=True).count() >= 1  # the paper's SFT ECQA cell
        finally:
            browser.close()
    for shot in ("home.png", "table1.png"):
        assert (tmp_path / shot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (tmp_path / shot).stat().st_size > 20_000

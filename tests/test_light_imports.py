"""Parsing the workflow imports no torch, transformers, trl or datasets.

Every ``snakemake`` start-up (a dry run, a table rebuild, each cluster job) parses the Snakefile, which imports
``bmc.config`` and the other modules named in the rule files. Importing torch & co. there cost ~11 of the
~12 CPU-seconds of a start-up; the settings dataclasses live in the standard-library-only ``bmc.settings``
instead. Each check runs in a fresh interpreter, so what the test session already imported does not count.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

from workflow_api import REPO

HEAVY = ("torch", "transformers", "trl", "datasets")
_IMPORT = re.compile(r"^\s*(?:from\s+(bmc(?:\.\w+)*)\s+import|import\s+(bmc(?:\.\w+)*))", re.MULTILINE)


def parse_time_modules() -> list[str]:
    """The bmc modules the Snakefile and the rule files import (plus bmc.settings)."""
    names = {"bmc.settings"}
    for path in [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]:
        names |= {a or b for a, b in _IMPORT.findall(path.read_text(encoding="utf-8"))}
    return sorted(names)


def _run_clean(code: str) -> None:
    check = f"\nheavy = [m for m in {HEAVY!r} if m in sys.modules]\nassert not heavy, heavy\n"
    proc = subprocess.run([sys.executable, "-c", "import sys\n" + textwrap.dedent(code) + check], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_the_rule_files_import_light_modules():
    modules = parse_time_modules()
    assert {"bmc.config", "bmc.cluster.resources", "bmc.report.costs", "bmc.runtime"} <= set(modules)
    _run_clean("".join(f"import {m}\n" for m in modules))


def test_parsing_and_planning_the_workflow_imports_no_torch(tmp_path):
    """The whole parse: config checks (every editor kind), input functions, params, the sweeps' targets."""
    editors = {"ed_openai": {"kind": "openai", "model": "m", "api_key_env": None},
               "ed_vllm": {"kind": "vllm", "model": "m"},
               "ed_transformers": {"kind": "transformers", "model": "results/tiny/models/sft/math"}}
    _run_clean(f"""
        sys.path.insert(0, {str(REPO / "tests")!r})
        from workflow_api import REPO, plan

        planned = plan({str(tmp_path)!r}, [REPO / "configs" / "tiny.yaml", REPO / "configs" / "grid.yaml"],
                       config={{"editors": {editors!r}}}, targets=("all", "sweeps"))
        assert "train_preference" in planned.values()
    """)

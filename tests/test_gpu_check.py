"""benchmarks/gpu_check.sh, in its CPU fallback: the three parts run at toy sizes and the summary has its sections.

The GPU figures themselves need a CUDA machine (benchmarks/README.md); this checks that the script is one
command away from them.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_gpu_check_cpu_fallback(tmp_path):
    summary = tmp_path / "out" / "gpu_check.md"
    env = dict(os.environ, GPU_CHECK_MODE="cpu", CUDA_VISIBLE_DEVICES="", TMPDIR=str(tmp_path))
    env.pop("OUT", None)
    proc = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu_check.sh"), str(summary)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = summary.read_text()
    assert text.startswith("# GPU check (CPU fallback")
    assert "**Not a GPU measurement**" in text
    for heading in ("## (a) DPO vs DPO-BMC step time", "## (b) Batched vs one-prompt generation",
                    "## (c) The micro study's chain"):
        assert heading in text
    assert text.count("Status: passed") == 3
    # (a): the overhead table has the three variants and the peak-memory column
    for row in ("| dpo ", "| bmc ", "| bmc_per_forward ", "| bmc_per_pair ", "peak GiB"):
        assert row in text
    # (b): one-prompt and batched rows, outputs identical
    assert "| transformers, batch 1 " in text and "| transformers, batch 8 " in text
    assert "False" not in text.split("## (b)")[1].split("## (c)")[0]
    # (c): both models evaluated, the jobs' benchmark rows present
    assert "| sft |" in text and "| dpo |" in text
    assert "train_preference/dpo/qa" in text and "evaluate/qa/sft" in text
    logs = summary.parent / "gpu_check_logs"
    assert (logs / "bmc_overhead.json").exists() and (logs / "c.log").exists()

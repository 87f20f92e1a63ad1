"""Two fresh runs of a study give the same bytes: every score file and every table.

The shared micro study (in CI built through SLURM jobs, cluster/micro_through_slurm.sh) is compared with a second
one run here from an empty folder with the local executor. Left out, on purpose: the cost table (it reports
the run's own timings) and run_info.json files (they record the time they were written)."""

from __future__ import annotations

from pathlib import Path

import pytest
from workflow_api import REPO, run

MICRO = REPO / "configs" / "micro.yaml"


def _products(workdir: Path) -> dict[str, bytes]:
    root = workdir / "results" / "micro"
    files = [*root.glob("**/scores.json"), *root.glob("**/predictions.jsonl"), *root.glob("tables/*")]
    return {str(f.relative_to(root)): f.read_bytes() for f in files if not f.name.startswith("cost")}


@pytest.mark.slow
def test_two_fresh_runs_give_identical_scores_and_tables(micro_study, tmp_path):
    run(tmp_path, [MICRO])
    first, second = _products(micro_study), _products(tmp_path)
    assert set(first) == set(second)
    assert sum(name.endswith("scores.json") for name in first) == 2 + 2 * 2 * 12  # SFT + 12 methods x 2 seeds, 2 tasks
    assert any(name.startswith("tables/table1") for name in first)
    differing = sorted(name for name in first if first[name] != second[name])
    assert not differing, f"these outputs differ between two fresh runs: {differing}"

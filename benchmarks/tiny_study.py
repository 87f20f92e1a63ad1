"""Wall time of a fresh tiny study, per stage and in all, and the start-up cost every job pays.

    .venv/bin/python benchmarks/tiny_study.py                 # fresh run in a temporary folder, report on stdout
    .venv/bin/python benchmarks/tiny_study.py --out bench.md --keep /tmp/tiny   # keep the run's folder

Runs ``snakemake --cores N`` (the default target, `all` of configs/tiny.yaml) in an empty working folder with
this checkout's Snakefile, timing the whole run. Then, from the rules' ``benchmark:`` files: per stage (rule
file) the jobs, the summed job wall and CPU seconds, and the stage's span on the clock (first job start to last
job end; a job's end is its benchmark file's modification time, its start that minus its wall time). Last, the
start-up a job pays before its first line of work: the median of 3 fresh interpreters importing what each
kind of job imports (training: TRL; generation and evaluation: transformers; tables: pandas).

Measured numbers only; nothing here is asserted (timings on shared machines are noisy: run it alone).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from bmc.report.costs import read_benchmarks  # noqa: E402

STARTUP_IMPORTS = {
    "bare interpreter": "pass",
    "tables (pandas)": "import bmc.report.paper_tables",
    "evaluation (transformers)": "import bmc.evaluation.evaluate, bmc.models.generation",
    "training (TRL)": "import bmc.training.preference, bmc.training.trainer",
}


def run_study(workdir: Path, cores: int, extra: list[str]) -> float:
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--cores", str(cores), "--quiet", "rules", *extra]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=workdir)
    return time.perf_counter() - start


def stage_table(workdir: Path, study: str = "tiny") -> list[dict]:
    bench_dir = workdir / "results" / study / "benchmarks"
    jobs = read_benchmarks(bench_dir)
    stage_of = {r: s for r, s in _rule_stages(workdir, study).items()}
    ends, starts = {}, {}
    for path in bench_dir.rglob("*.tsv"):
        rule = path.relative_to(bench_dir).parts[0]
        end = path.stat().st_mtime
        wall = float(path.read_text().splitlines()[-1].split("\t")[0])
        ends.setdefault(rule, []).append(end)
        starts.setdefault(rule, []).append(end - wall)
    rows = []
    for stage in dict.fromkeys(stage_of.get(r, "?") for r in jobs["rule"]):
        rules = [r for r in dict.fromkeys(jobs["rule"]) if stage_of.get(r, "?") == stage]
        part = jobs[jobs["rule"].isin(rules)]
        span = max(e for r in rules for e in ends[r]) - min(s for r in rules for s in starts[r])
        rows.append({"stage": stage, "rules": ", ".join(rules), "jobs": len(part), "job_wall_s": part["wall_s"].sum(),
                     "cpu_s": part["cpu_s"].sum(), "span_s": span,
                     "first_start": min(s for r in rules for s in starts[r])})
    t0 = min(r["first_start"] for r in rows)
    for r in rows:
        r["starts_at_s"] = r.pop("first_start") - t0
    return sorted(rows, key=lambda r: r["starts_at_s"])


def _rule_stages(workdir: Path, study: str) -> dict[str, str]:
    """{rule: stage} from the study's cost table (rules/report.smk writes the rule file of each rule)."""
    import pandas as pd

    cost = pd.read_csv(workdir / "results" / study / "tables" / "cost.csv")
    return dict(zip(cost["rule"], cost["stage"], strict=True))


def startup_seconds(repeats: int = 3) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    out = {}
    for name, code in STARTUP_IMPORTS.items():
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=REPO)
            times.append(time.perf_counter() - start)
        out[name] = statistics.median(times)
    return out


def report(total: float, stages: list[dict], startup: dict[str, float], cores: int) -> str:
    lines = [f"# Tiny study, fresh run on {cores} cores ({os.cpu_count()} CPUs seen)", "",
             f"Workflow wall time: **{total:.0f} s ({total / 60:.1f} min)**, "
             f"{sum(r['jobs'] for r in stages)} jobs, {sum(r['cpu_s'] for r in stages):.0f} CPU-s in the jobs.", "",
             "| stage | rules | jobs | starts at s | span s | job wall s | CPU s |", "|---|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['stage']} | {r['rules']} | {r['jobs']} | {r['starts_at_s']:.0f} | {r['span_s']:.0f} | "
              f"{r['job_wall_s']:.0f} | {r['cpu_s']:.0f} |" for r in stages]
    lines += ["", "Start-up of one job (median of 3 fresh interpreters):", "",
              "| job kind | s |", "|---|---:|"]
    lines += [f"| {k} | {v:.1f} |" for k, v in startup.items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="run in this (new or empty) folder and keep it")
    parser.add_argument("--out", type=Path, help="also write the report here")
    parser.add_argument("--no-startup", action="store_true", help="skip the start-up measurement")
    parser.add_argument("snakemake_args", nargs="*", help="more snakemake arguments (after --)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tiny-bench-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        if any(workdir.iterdir()):
            parser.error(f"{workdir} is not empty: the benchmark times a fresh run")
        total = run_study(workdir, args.cores, args.snakemake_args)
        stages = stage_table(workdir)
    startup = {} if args.no_startup else startup_seconds()
    text = report(total, stages, startup, args.cores)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()

"""What a study will cost before any of its jobs runs (the overhead the paper's reviewers asked about, Appendix B,
costed for the whole study): per rule the jobs, GPUs, requested hours and GPU-hours, from the plan of a fresh
folder and the study config's ``resources``; and for the API editor of the Bridging phase and the Table 2 judges,
the requests, a range of tokens and of dollars at the config's prices.

    .venv/bin/python -m bmc.cluster.plan --configfile configs/paper.yaml [--target all] [--out DIR]

Requested hours are what the jobs ask the scheduler for (``runtime``), an upper bound of what they use; local
rules (downloads, judges) run on the submitting host and ask for no cluster time. The token ranges are built from
the prompt templates (counted as characters / 4) and per-setup length ranges of the text a request carries
(:data:`LENGTHS`); the number of bridging requests of a sampled setup is a range too: one per question with at least
one wrong sample, for a sample accuracy between :data:`SAMPLE_ACCURACY` (which the SFT model's accuracy decides).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

import pandas as pd

# Tokens of the texts a bridging request carries, (low, high) per paper setup: question x, y_w, y_l. QA and math
# measured with Llama-2's tokenizer (10th-90th percentile, widened): the official QA SFT set's questions 30-48 and
# rationales 31-58 tokens; GSM8K's questions 41-102 and solutions 69-208 (MetaMathQA's and MATH's run longer; y_l
# is capped by sampling.max_new_tokens). IF: UltraFeedback's prompts and responses, not measured here (no copy).
LENGTHS = {"QA": {"x": (25, 80), "y_w": (25, 100), "y_l": (25, 150)},
           "Math": {"x": (35, 250), "y_w": (60, 400), "y_l": (60, 512)},
           "IF": {"x": (15, 600), "y_w": (100, 1000), "y_l": (100, 1000)}}
SAMPLE_ACCURACY = (0.4, 0.8)  # of the SFT model's samples: with k samples, (1 - a^k) of the questions give a pair
# Judges (Table 2): requests per judged model and tokens per request (prompt, completion). AlpacaEval 2's
# weighted_alpaca_eval_gpt4_turbo: 805 instructions (10-81 tokens), the judge template (~300), the GPT-4 Turbo
# reference and the model's answer; one completion token (it reads log-probabilities). Arena-Hard v0.1: 500
# questions (14-281 tokens) judged twice (both orders), the judge's system prompt (~500), the gpt-4-0314 baseline and
# the model's answer; a written judgment.
JUDGES = {"judge_alpaca_eval": {"requests": 805, "prompt": (400, 3500), "completion": (1, 1)},
          "judge_arena_hard": {"requests": 1000, "prompt": (700, 4500), "completion": (150, 1000)}}
DEFAULT_JUDGE_PRICE = {"prompt": 10.0, "completion": 30.0}  # USD per million tokens, GPT-4 Turbo's list price


def planned_jobs(configfiles: list[str | Path], targets=("all",), config: dict | None = None,
                 snakefile: str | Path | None = None) -> tuple[list[dict], dict]:
    """Every job of ``targets`` as planned in an empty folder (nothing has run): rule, wildcards, resources as
    submitted, whether it is a local rule; and the resolved study config."""
    from snakemake.api import SnakemakeApi
    from snakemake.settings.types import ConfigSettings, DAGSettings, OutputSettings, Quietness, ResourceSettings

    snakefile = Path(snakefile or Path(__file__).resolve().parents[3] / "Snakefile")
    with tempfile.TemporaryDirectory() as work, SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        wf = api.workflow(resource_settings=ResourceSettings(cores=1), snakefile=snakefile, workdir=Path(work),
                          config_settings=ConfigSettings(configfiles=[Path(c).resolve() for c in configfiles],
                                                         config=config or {}))
        dag_api = wf.dag(dag_settings=DAGSettings(targets=set(targets)))
        w = dag_api.workflow_api._workflow
        w._prepare_dag(forceall=False, ignore_incomplete=False, lock_warn_only=True)
        w._build_dag()
        jobs = [{"rule": job.rule.name, "wildcards": dict(job.wildcards.items()),
                 "resources": {k: v for k, v in job.resources.items() if not k.startswith("_")},
                 "local": job.rule.name in w._localrules} for job in w.dag.needrun_jobs()]
        return jobs, dict(w.config)


def rule_table(jobs: list[dict]) -> pd.DataFrame:
    """Per rule: jobs, GPUs per job, requested minutes per job (the largest), requested hours and GPU-hours; local
    rules ask for none. A total line last."""
    rows = {}
    for job in jobs:
        r = rows.setdefault(job["rule"], {"rule": job["rule"], "jobs": 0, "local": job["local"], "gpus_per_job": 0,
                                          "runtime_min": 0.0, "requested_hours": 0.0, "gpu_hours": 0.0})
        res = job["resources"]
        gpus = 0 if job["local"] else int(res.get("gpu", 0) or 0)
        minutes = 0.0 if job["local"] else float(res.get("runtime", 0) or 0)
        r["jobs"] += 1
        r["gpus_per_job"] = max(r["gpus_per_job"], gpus)
        r["runtime_min"] = max(r["runtime_min"], minutes)
        r["requested_hours"] += minutes / 60
        r["gpu_hours"] += gpus * minutes / 60
    frame = pd.DataFrame(sorted(rows.values(), key=lambda r: (-r["gpu_hours"], -r["requested_hours"], r["rule"])))
    total = {"rule": "total", "jobs": frame["jobs"].sum(), "local": False, "gpus_per_job": math.nan,
             "runtime_min": math.nan, "requested_hours": frame["requested_hours"].sum(),
             "gpu_hours": frame["gpu_hours"].sum()}
    return pd.concat([frame, pd.DataFrame([total])], ignore_index=True)


def _template_tokens(config: dict, task: str, direction: str, root: Path) -> int:
    family = config["tasks"][task].get("editor_prompts", "qa_math")
    path = root / "configs" / "prompts" / "bridging" / family / f"{direction}.txt"
    return math.ceil(len(path.read_text(encoding="utf-8")) / 4) if path.is_file() else 0


def _pairs_range(config: dict, task: str) -> tuple[int, int, str]:
    """(low, high, basis) of the pairs a task's bridging gets, before anything has run."""
    from bmc.data.training_data import SOURCES

    tc, sampling = config["tasks"][task], config.get("sampling") or {}
    if "pairs" in tc:  # a preference dataset: its pairs as they are
        src = SOURCES[tc["pairs"]["source"]]
        n = next(iter(src.size.values()))
        return n, n, f"{src.name} {next(iter(src.size))}"
    counted = ""
    if "sft_data" in tc:
        src = SOURCES[tc["sft_data"]["source"]]
        questions = tc["sft_data"].get("size") or src.size["train"]
        if questions is None:  # a file not counted here: the size the paper states
            questions, counted = src.paper_size["train"], f" (the paper's size of {src.name})"
    else:
        questions = tc.get("train_size", 0)
    if sampling.get("questions"):
        questions = min(questions, sampling["questions"])
    k = int(sampling.get("num_samples", 1))
    lo, hi = SAMPLE_ACCURACY
    return (round(questions * (1 - hi ** k)), round(questions * (1 - lo ** k)),
            f"{questions} questions{counted} x (1 - a^{k}), sample accuracy a in {SAMPLE_ACCURACY}")


def api_table(jobs: list[dict], config: dict, root: Path) -> pd.DataFrame:
    """The requests, tokens and dollars of every job that calls a paid API: bridging with an ``openai`` editor, and
    the judges of Table 2. Ranges (low, high)."""
    from bmc.config import bridged_set

    lines = []
    decoding = (config.get("bridging") or {}).get("decoding") or {}
    for job in jobs:
        rule, wc = job["rule"], job["wildcards"]
        if rule == "bridge_pairs":
            bset = bridged_set(config, wc["bset"])
            spec = config["editors"][bset["editor"]]
            if spec.get("kind") != "openai":
                continue
            task = wc["task"]
            setup = config["tasks"][task]["paper_setup"]
            lengths = LENGTHS.get(setup, LENGTHS["IF"])
            lo_n, hi_n, basis = _pairs_range(config, task)
            frac = float(bset.get("fraction", 1.0))
            lo_n, hi_n = round(lo_n * frac), round(hi_n * frac)
            template = _template_tokens(config, task, bset["direction"], root)
            prompt = tuple(template + sum(lengths[k][i] for k in ("x", "y_w", "y_l")) for i in (0, 1))
            cap = decoding.get("max_tokens") or math.inf
            completion = tuple(min(lengths["y_l"][i], cap) for i in (0, 1))
            price = spec.get("price_usd_per_million_tokens")
            lines.append(_cost_line("bridge_pairs", f"{task}/{wc['bset']}", spec.get("model", bset["editor"]),
                                    (lo_n, hi_n), prompt, completion, price, basis, group=f"{task}, {wc['bset']}"))
        elif rule in JUDGES:
            judge = ((config.get("instruction_following") or {}).get("judge") or {})
            j = JUDGES[rule]
            price = judge.get("price_usd_per_million_tokens") or DEFAULT_JUDGE_PRICE
            lines.append(_cost_line(rule, f"{wc.get('task')}/{wc.get('model')}", judge.get("model") or
                                    "gpt-4-1106-preview", (j["requests"], j["requests"]), j["prompt"],
                                    j["completion"], price, "the benchmark's prompts", group=str(wc.get("task"))))
    columns = ["rule", "group", "job", "model", "requests_low", "requests_high", "tokens_low", "tokens_high",
               "usd_low", "usd_high", "basis"]
    return pd.DataFrame(lines, columns=columns)


def _cost_line(rule, job, model, requests, prompt, completion, price, basis, group="") -> dict:
    tokens = [requests[i] * (prompt[i] + completion[i]) for i in (0, 1)]
    usd = [math.nan, math.nan]
    if price:
        usd = [requests[i] * (prompt[i] * price["prompt"] + completion[i] * price["completion"]) / 1e6 for i in (0, 1)]
    return {"rule": rule, "group": group, "job": job, "model": model, "requests_low": requests[0],
            "requests_high": requests[1],
            "tokens_low": tokens[0], "tokens_high": tokens[1], "usd_low": usd[0], "usd_high": usd[1], "basis": basis}


def markdown(rules: pd.DataFrame, api: pd.DataFrame, study: str, configfiles) -> str:
    out = [f"# The cost of the {study} study, planned before it runs", "",
           f"From `python -m bmc.cluster.plan --configfile {' '.join(map(str, configfiles))}`: every job of the "
           "target in an empty folder, with the resources the study config gives it (requested time is an upper "
           "bound of what a job uses; local rules run on the submitting host).", "",
           "## Compute per rule", "",
           "| rule | jobs | GPUs per job | requested min per job | requested hours | GPU-hours |",
           "|---|---:|---:|---:|---:|---:|"]
    for r in rules.itertuples():
        gpus = "" if math.isnan(r.gpus_per_job) else f"{int(r.gpus_per_job)}"
        minutes = "" if math.isnan(r.runtime_min) else ("local" if r.local else f"{r.runtime_min:.0f}")
        out.append(f"| {r.rule} | {r.jobs} | {gpus} | {minutes} | {r.requested_hours:,.1f} | {r.gpu_hours:,.1f} |")
    out += ["", "## API calls (editor and judges)", ""]
    if api.empty:
        out.append("None: the study's editors run locally or by rule, and it has no judged benchmarks.")
    else:
        out += ["| rule | task, bridged set | model | jobs | requests | tokens | USD |",
                "|---|---|---|---:|---:|---:|---:|"]
        sums = ["requests_low", "requests_high", "tokens_low", "tokens_high", "usd_low", "usd_high"]
        grouped = api.groupby(["rule", "group", "model"], sort=True).agg(
            jobs=("job", "count"), **{c: (c, "sum") for c in sums}).reset_index()
        for a in grouped.itertuples():
            out.append(f"| {a.rule} | {a.group} | {a.model} | {a.jobs} | {_range(a.requests_low, a.requests_high)} | "
                       f"{_range(a.tokens_low, a.tokens_high, 1e6, 'M')} | {_range(a.usd_low, a.usd_high, fmt='$')} |")
        out.append(f"| **total** | | | {len(api)} | {_range(api['requests_low'].sum(), api['requests_high'].sum())} | "
                   f"{_range(api['tokens_low'].sum(), api['tokens_high'].sum(), 1e6, 'M')} | "
                   f"{_range(api['usd_low'].sum(), api['usd_high'].sum(), fmt='$')} |")
        out += ["", "Ranges: bridging requests are one per pair (a sampled setup: the questions with at least one "
                "wrong sample, for a sample accuracy between " + f"{SAMPLE_ACCURACY[0]} and {SAMPLE_ACCURACY[1]}); "
                "tokens per request from the prompt template and per-setup text lengths "
                "(`bmc.cluster.plan.LENGTHS`, `JUDGES`); dollars at the config's `price_usd_per_million_tokens`."]
    return "\n".join(out) + "\n"


def _range(lo, hi, scale: float = 1.0, unit: str = "", fmt: str = "") -> str:
    if isinstance(lo, float) and math.isnan(lo):
        return "—"
    a, b = lo / scale, hi / scale
    if fmt == "$":
        return f"${a:,.0f}" if round(a) == round(b) else f"${a:,.0f}-{b:,.0f}"
    digits = 1 if scale != 1.0 else 0
    text = f"{a:,.{digits}f}" if round(a, digits) == round(b, digits) else f"{a:,.{digits}f}-{b:,.{digits}f}"
    return text + unit


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--configfile", nargs="+", required=True, help="the study config (and overlays)")
    ap.add_argument("--target", nargs="+", default=["all"])
    ap.add_argument("--out", type=Path, help="folder for plan.md, rules.csv, api.csv (default results/<study>/plan)")
    a = ap.parse_args(argv)
    jobs, config = planned_jobs(a.configfile, a.target)
    root = Path(__file__).resolve().parents[3]
    rules, api = rule_table(jobs), api_table(jobs, config, root)
    text = markdown(rules, api, config["study"], a.configfile)
    print(text)
    out = a.out or Path("results") / config["study"] / "plan"
    out.mkdir(parents=True, exist_ok=True)
    from bmc.io import write_text

    write_text(out / "plan.md", text)
    write_text(out / "rules.csv", rules.to_csv(index=False, float_format="%.6g"))
    write_text(out / "api.csv", api.to_csv(index=False, float_format="%.6g"))
    print(f"written: {out}/plan.md, rules.csv, api.csv", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

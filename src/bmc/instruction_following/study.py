"""Instruction following in the study (paper Table 2): the study config's ``instruction_following`` block
resolved with its defaults and cross-checked, the jobs and judge keys it implies, and Table 2's cells from the
judge results.
"""

from __future__ import annotations

from collections.abc import Mapping

from bmc.instruction_following.answers import BOS_MODES, decoding_for, get_template
from bmc.instruction_following.prompt_sets import BENCHMARKS, PROMPT_SETS


# --------------------------------------------------------------------------------------------------
# The study config's ``instruction_following`` block, resolved with its defaults and cross-checked.

DEFAULT_JUDGE_MODEL = "gpt-4-1106-preview"  # GPT-4 Turbo: the default judge of both alpaca_eval 2 and arena-hard v0.1
ARENA_HARD_COMMIT = "3071ef95d913bb5cd632641db336a3b6c7fe4bdd"


def if_settings(config: Mapping) -> dict | None:
    """The ``instruction_following`` block with every default filled in, or None when the study has none.
    Raises ``ConfigError`` naming the key for what the schema cannot check (unknown tasks or models, two
    tasks in one Table 2 column group)."""
    from bmc.config import ConfigError

    block = config.get("instruction_following")
    if block is None:
        return None
    where = "instruction_following"
    tasks, methods = config["tasks"], list(config["methods"])
    benchmarks = list(block.get("benchmarks") or BENCHMARKS)
    for b in benchmarks:
        if b not in PROMPT_SETS:
            raise ConfigError(f"{where}.benchmarks: unknown benchmark {b!r}; known: {list(PROMPT_SETS)}")
    sets_cfg = block.get("prompt_sets") or {}
    prompt_sets = {}
    for b in BENCHMARKS:
        c = dict(sets_cfg.get(b) or {})
        files = c.get("data_files")
        prompt_sets[b] = {"data_files": [files] if isinstance(files, str) else (list(files) if files else None),
                          "check_size": c.get("check_size", True),
                          "hub_file": c.get("hub_file", "alpaca_eval_gpt4_baseline") if b == "alpaca_eval" else None}
    setups = {}
    if not block.get("setups"):
        raise ConfigError(f"{where}.setups: name at least one task whose models are evaluated")
    for task, c in block["setups"].items():
        key = f"{where}.setups.{task}"
        if task not in tasks:
            raise ConfigError(f"{key}: no task {task!r} under tasks (have {sorted(tasks)})")
        c = dict(c or {})
        template = c.get("template", "tokenizer")
        get_template(template)
        bos = c.get("bos", "official")
        if bos not in BOS_MODES:
            raise ConfigError(f"{key}.bos: {bos!r} is not one of {BOS_MODES}")
        models = c.get("models") or ["sft", *methods]
        for m in models:
            if m != "sft" and m not in methods:
                raise ConfigError(f"{key}.models: {m!r} is neither sft nor a method id (have {methods})")
        setups[task] = {"paper_setup": c.get("paper_setup") or f"IF ({tasks[task]['label']})",
                        "template": template, "bos": bos, "models": list(models)}
    column_groups = [s["paper_setup"] for s in setups.values()]
    if len(set(column_groups)) != len(column_groups):
        raise ConfigError(f"{where}.setups: two tasks share a Table 2 column group (paper_setup): {column_groups}")
    decoding = {}
    for b in BENCHMARKS:
        try:
            decoding[b] = decoding_for(b, (block.get("decoding") or {}).get(b))
        except ValueError as e:
            raise ConfigError(f"{where}.decoding.{e}") from None
    ev = config.get("evaluation") or {}
    judge = dict(block.get("judge") or {})
    ae, ah = dict(judge.get("alpaca_eval") or {}), dict(judge.get("arena_hard") or {})
    study = config["study"]
    return {
        "benchmarks": benchmarks,
        "download": bool(block.get("download", False)),
        "prompt_sets": prompt_sets,
        "limit": block.get("limit"),
        "setups": setups,
        "decoding": decoding,
        "engine": block.get("engine") or ev.get("engine", "auto"),
        "batch_size": block.get("batch_size") or ev.get("batch_size", 8),
        "judge": {
            "base_url": judge.get("base_url", "https://api.openai.com/v1"),
            "api_key_env": judge.get("api_key_env", "OPENAI_API_KEY"),
            "model": judge.get("model") or DEFAULT_JUDGE_MODEL,
            "cache_dir": judge.get("cache_dir") or f"results/{study}/cache/judges",
            "alpaca_eval": {"annotator": ae.get("annotator", "weighted_alpaca_eval_gpt4_turbo"),
                            "concurrency": ae.get("concurrency", 8)},
            "arena_hard": {"baseline": ah.get("baseline", "gpt-4-0314"), "parallel": ah.get("parallel", 8),
                           "repo": ah.get("repo", "https://github.com/lmarena/arena-hard-auto.git"),
                           "commit": ah.get("commit", ARENA_HARD_COMMIT)},
        },
    }


def if_jobs(settings: Mapping | None) -> list[tuple[str, str, str]]:
    """(benchmark, task, model) of every answer file (and judge result) the study makes."""
    if not settings:
        return []
    return [(b, t, m) for b in settings["benchmarks"] for t, s in settings["setups"].items() for m in s["models"]]


def judge_key_missing(settings: Mapping | None, environ: Mapping | None = None) -> str | None:
    """A sentence naming the unset key variable, or None (no block, a key, or an endpoint that needs none)."""
    import os

    if not settings:
        return None
    var = settings["judge"]["api_key_env"]
    environ = os.environ if environ is None else environ
    if var and not environ.get(var):
        return (f"instruction_following: the judge endpoint {settings['judge']['base_url']} needs an API key in the "
                f"environment variable {var}, which is not set")
    return None


# --------------------------------------------------------------------------------------------------
# Table 2 cells from the judge results.

TABLE2_COLUMNS = {  # paper column: (benchmark, key in the judge result file)
    "AE2 LC": ("alpaca_eval", "length_controlled_winrate"),
    "AE2 WR": ("alpaca_eval", "win_rate"),
    "AE2 Len": ("alpaca_eval", "avg_length"),
    "AH WR": ("arena_hard", "win_rate"),
    "AH Len": ("arena_hard", "avg_tokens"),
}
JUDGE_RULES = {"alpaca_eval": "judge_alpaca_eval", "arena_hard": "judge_arena_hard"}


def table2_cells(results: Mapping[tuple[str, str, str], tuple[Mapping, str]], rows: Mapping[str, str],
                 setups: Mapping[str, str]) -> list:
    """Cells from judge results ``{(benchmark, task, model): (judge.json content, its path)}``; ``rows``:
    model -> Table 2 row label; ``setups``: task -> column group. A value the judge did not give (NaN/None)
    stays missing."""
    from bmc.report.paper_tables import Cell

    cells = []
    for (benchmark, task, model), (result, path) in results.items():
        if model not in rows:
            continue
        for column, (b, key) in TABLE2_COLUMNS.items():
            value = result.get(key) if b == benchmark else None
            if value is not None:
                cells.append(Cell(rows[model], setups[task], column, float(value),
                                  f"rule {JUDGE_RULES[benchmark]}: {path}"))
    return cells

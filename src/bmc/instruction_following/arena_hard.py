"""The Arena-Hard v0.1 judge (paper Table 2's AH WR/Len columns; ``arena-hard-auto`` at a pinned commit,
its ``gen_judgment.py`` and ``show_result.py``): fetching the tool, its working folder, running it and
parsing the win rate with its bootstrapped 95% CI.

Secrets, caches and the pre-flight are described in :mod:`bmc.instruction_following.judges`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from bmc.instruction_following.judges import JudgeEndpoint, JudgeError, PLACEHOLDER_KEY, fingerprint, preflight
from bmc.io import atomic_dir, read_json, write_text

log = logging.getLogger(__name__)

# ============================================================================================== Arena-Hard
ARENA_HARD_REPO = "https://github.com/lmarena/arena-hard-auto.git"
ARENA_HARD_COMMIT = "3071ef95d913bb5cd632641db336a3b6c7fe4bdd"  # 2025-03-19, the last commit with the v0.1 format
BENCH_NAME = "arena-hard-v0.1"


@dataclass
class ArenaHardJudge:
    """Config ``instruction_following.judge.arena_hard`` (defaults: the tool's v0.1 judge config)."""

    judge_model: str = "gpt-4-1106-preview"
    baseline: str = "gpt-4-0314"
    parallel: int = 8  # concurrent judge requests
    repo: str = ARENA_HARD_REPO
    commit: str = ARENA_HARD_COMMIT


def fetch_arena_hard(dest: str | Path, repo: str = ARENA_HARD_REPO, commit: str = ARENA_HARD_COMMIT) -> Path:
    """arena-hard-auto at ``commit`` in ``dest`` (``git fetch`` of that one commit; atomic: a failed fetch
    leaves nothing). The checkout's HEAD is verified."""
    dest = Path(dest)

    def git(*args, cwd):
        r = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
        if r.returncode != 0:
            raise JudgeError(f"git {' '.join(args)} failed for {repo}: {r.stderr.strip()[-500:]}")
        return r.stdout.strip()

    with atomic_dir(dest) as tmp:
        git("init", "-q", cwd=tmp)
        git("remote", "add", "origin", repo, cwd=tmp)
        git("fetch", "-q", "--depth", "1", "origin", commit, cwd=tmp)
        git("checkout", "-q", "FETCH_HEAD", cwd=tmp)
        head = git("rev-parse", "HEAD", cwd=tmp)
        if head != commit:
            raise JudgeError(f"{repo}: checked out {head}, expected {commit}")
        for needed in ("gen_judgment.py", "show_result.py", "config/judge_config.yaml",
                       f"data/{BENCH_NAME}/model_answer"):
            if not (tmp / needed).exists():
                raise JudgeError(f"{repo} at {commit} has no {needed}: not an arena-hard-auto v0.1 checkout")
    return dest


# numpy 2 removed np.NAN / np.NaN, which arena-hard-auto v0.1's utils_math uses; the tool runs unchanged
# behind this alias (and its scripts are run as __main__ from their own folder).
RUN_SHIM = ("import runpy, sys, numpy; numpy.NAN = numpy.nan; numpy.NaN = numpy.nan; "
            "sys.path.insert(0, sys.argv[1]); script = sys.argv[2]; sys.argv = sys.argv[2:]; "
            "runpy.run_path(script, run_name='__main__')")


def _drop_cut_off_line(path: Path) -> int:
    """gen_judgment.py appends one JSON line per question; a line cut off by a kill would break its reader.
    Remove it (returns the number of lines removed: 0 or 1)."""
    if not path.exists():
        return 0
    data = path.read_bytes()
    lines = data.split(b"\n")
    tail = lines[-1]
    bad = 0
    if tail:  # no final newline
        try:
            json.loads(tail)
            data += b"\n"
        except ValueError:
            data = b"\n".join(lines[:-1]) + (b"\n" if len(lines) > 1 else b"")
            bad = 1
    path.write_bytes(data)
    return bad


def ensure_arena_hard(cache_dir: str | Path, judge: "ArenaHardJudge") -> Path:
    """The tool's checkout at the pinned commit under the judge cache (fetched once; judge jobs running side by
    side wait on a lock instead of fetching twice)."""
    from filelock import FileLock

    dest = Path(cache_dir) / f"arena-hard-auto-{judge.commit[:12]}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dest) + ".lock"):
        if not (dest / "gen_judgment.py").is_file():
            log.info("fetching arena-hard-auto %s at %s", judge.repo, judge.commit)
            fetch_arena_hard(dest, judge.repo, judge.commit)
    return dest


def missing_tool_modules(tool: str | Path, scripts=("gen_judgment.py", "show_result.py", "utils.py")) -> list[str]:
    """Top-level modules the tool's scripts import that this environment lacks (read from the scripts
    themselves, so that the check follows the pinned commit); checked before anything is judged."""
    import ast
    import importlib.util

    tool = Path(tool)
    local = {p.stem for p in tool.glob("*.py")} | {p.name for p in tool.iterdir() if p.is_dir()}
    wanted = set()
    for name in scripts:
        path = tool / name
        if not path.is_file():
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                wanted |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                wanted.add(node.module.split(".")[0])
    return sorted(m for m in wanted - local if importlib.util.find_spec(m) is None)


def prepare_workdir(workdir: str | Path, tool: str | Path, questions: str | Path, answers: str | Path,
                    judge: ArenaHardJudge) -> tuple[Path, str]:
    """arena-hard-auto's folder layout for one model: ``data/arena-hard-v0.1/{question.jsonl, model_answer/,
    model_judgment/}``, ``config/{judge_config,api_config}.yaml``. The judge config is the tool's own with
    only the judge model, the baseline and the model list replaced; the API config names no key. Returns
    (workdir, model id)."""
    workdir, tool = Path(workdir), Path(tool)
    answer_rows = [json.loads(line) for line in Path(answers).read_text(encoding="utf-8").splitlines()]
    if not answer_rows:
        raise JudgeError(f"{answers}: no answers")
    model_id = answer_rows[0]["model_id"]
    # the questions answered (all 500 for Table 2; the first N of a limited run), in the question file's format
    question_lines = Path(questions).read_text(encoding="utf-8").splitlines(keepends=True)
    by_id = {json.loads(line)["question_id"]: line for line in question_lines}
    missing = [a["question_id"] for a in answer_rows if a["question_id"] not in by_id]
    if missing:
        raise JudgeError(f"{answers}: answers to questions not in {questions}: {missing[:5]}")
    judged_questions = "".join(by_id[a["question_id"]] for a in answer_rows)
    data = workdir / "data" / BENCH_NAME
    (data / "model_answer").mkdir(parents=True, exist_ok=True)
    judgments = data / "model_judgment" / judge.judge_model / f"{model_id}.jsonl"
    stamp = workdir / "judged_for.json"
    wanted = fingerprint(Path(answers), judged_questions, judge.judge_model, judge.baseline, judge.commit)
    if judgments.exists() and (not stamp.exists() or read_json(stamp).get("fingerprint") != wanted):
        log.warning("%s: judgments were made for other answers or settings; removed, judging again", judgments)
        judgments.unlink()
    if (cut := _drop_cut_off_line(judgments)):
        log.warning("%s: removed %d judgment line cut off by an interrupted run", judgments, cut)
    write_text(stamp, json.dumps({"fingerprint": wanted, "model_id": model_id, "judge_model": judge.judge_model,
                                  "baseline": judge.baseline, "commit": judge.commit}, indent=2) + "\n")
    write_text(data / "question.jsonl", judged_questions)
    shutil.copyfile(answers, data / "model_answer" / f"{model_id}.jsonl")
    baseline_src = tool / "data" / BENCH_NAME / "model_answer" / f"{judge.baseline}.jsonl"
    if not baseline_src.is_file():
        raise JudgeError(f"arena-hard-auto has no baseline answers {baseline_src}")
    shutil.copyfile(baseline_src, data / "model_answer" / f"{judge.baseline}.jsonl")
    settings = yaml.safe_load((tool / "config" / "judge_config.yaml").read_text())
    settings.update({"bench_name": BENCH_NAME, "judge_model": judge.judge_model, "baseline": True,
                     "baseline_model": judge.baseline, "model_list": [model_id]})
    write_text(workdir / "config" / "judge_config.yaml", yaml.safe_dump(settings, sort_keys=False, allow_unicode=True))
    # no key and no base URL here: the openai client reads OPENAI_API_KEY / OPENAI_BASE_URL from the environment
    api = {judge.judge_model: {"model_name": judge.judge_model, "endpoints": None, "api_type": "openai",
                               "parallel": judge.parallel}}
    write_text(workdir / "config" / "api_config.yaml", yaml.safe_dump(api, sort_keys=False))
    (workdir / "leaderboard").mkdir(exist_ok=True)
    return workdir, model_id


def run_tool(tool: str | Path, script: str, args: list[str], workdir: str | Path, log_path: str | Path | None = None,
             endpoint: JudgeEndpoint | None = None) -> str:
    """Run one of arena-hard-auto's scripts from ``workdir`` (its relative ``data/`` and ``config/`` paths
    resolve there); the key and base URL are in the child's environment only. Returns its stdout."""
    tool = Path(tool).resolve()
    env = dict(os.environ)
    if endpoint is not None:
        env["OPENAI_API_KEY"] = endpoint.api_key() or PLACEHOLDER_KEY
        env["OPENAI_BASE_URL"] = endpoint.base_url
    cmd = [sys.executable, "-c", RUN_SHIM, str(tool), str(tool / script), *args]
    r = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True)
    if log_path:
        with open(log_path, "a", encoding="utf-8") as f:
            f.write(f"$ {script} {' '.join(args)}\n{r.stdout}\n{r.stderr}\n")
    if r.returncode != 0:
        raise JudgeError(f"arena-hard-auto {script} failed (exit {r.returncode}): {r.stderr.strip()[-800:]}")
    return r.stdout


# show_result.py (v0.1) prints f"{model : <30} | score: {score : ^5} | 95% CI: {str((lo, hi)) : ^12} |
# average #tokens: {tokens}" per model.
RESULT_LINE = re.compile(r"^(?P<model>\S+)\s*\|\s*score:\s*(?P<score>[-\d.]+)\s*\|\s*95% CI:\s*\((?P<lo>[-\d.]+),\s*"
                         r"(?P<hi>[-\d.]+)\)\s*\|\s*average #tokens:\s*(?P<tokens>\d+)", re.M)


def parse_show_result(stdout: str) -> dict[str, dict]:
    """``show_result.py``'s leaderboard lines -> {model: {score, ci_lower, ci_upper, avg_tokens}} (the win rate
    against the baseline in %, the CI as offsets from it)."""
    out = {}
    for m in RESULT_LINE.finditer(stdout):
        out[m["model"]] = {"score": float(m["score"]), "ci_lower": float(m["lo"]), "ci_upper": float(m["hi"]),
                           "avg_tokens": int(m["tokens"])}
    return out


def judgment_counts(path: str | Path) -> dict:
    """Questions judged, games whose verdict the judge never gave (score null: dropped by show_result)."""
    n = games = null = 0
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        n += 1
        for g in row.get("games", []):
            games += 1
            null += g is None or g.get("score") is None
    return {"questions_judged": n, "games": games, "games_without_verdict": null}


def run_arena_hard(cache_dir: str | Path, questions: str | Path, answers: str | Path, workdir: str | Path,
                   endpoint: JudgeEndpoint, judge: ArenaHardJudge, log_path: str | Path | None = None) -> dict:
    """gen_judgment.py (pairwise against the baseline, two games per question, existing judgments skipped),
    then show_result.py; returns the model's win rate and CI. The tool is fetched into ``cache_dir`` once."""
    preflight(endpoint, "Arena-Hard judge")
    tool = ensure_arena_hard(cache_dir, judge)
    lacking = missing_tool_modules(tool)
    if lacking:
        raise JudgeError(f"arena-hard-auto at {judge.commit[:12]} imports modules this environment lacks: "
                         f"{', '.join(lacking)} (pip install them into the venv)")
    workdir, model_id = prepare_workdir(workdir, tool, questions, answers, judge)
    run_tool(tool, "gen_judgment.py", ["--setting-file", "config/judge_config.yaml",
                                       "--endpoint-file", "config/api_config.yaml"], workdir, log_path, endpoint)
    judgments = workdir / "data" / BENCH_NAME / "model_judgment" / judge.judge_model / f"{model_id}.jsonl"
    if not judgments.exists():
        raise JudgeError(f"arena-hard-auto wrote no judgments ({judgments})")
    counts = judgment_counts(judgments)
    stdout = run_tool(tool, "show_result.py", ["--bench-name", BENCH_NAME, "--judge-name", judge.judge_model,
                                               "--baseline", judge.baseline], workdir, log_path)
    board = parse_show_result(stdout)
    if model_id not in board:
        raise JudgeError(f"show_result.py printed no line for {model_id} (got {sorted(board)})")
    return board[model_id] | counts | {
        "model": model_id, "win_rate": board[model_id]["score"], "judge_model": judge.judge_model,
        "baseline": judge.baseline, "arena_hard_commit": judge.commit, "endpoint": endpoint.base_url,
        "judgments": str(judgments),
    }

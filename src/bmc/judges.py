"""The LLM judges of Table 2: AlpacaEval 2 (``alpaca_eval``, length-controlled win rate against GPT-4 Turbo)
and Arena-Hard v0.1 (``arena-hard-auto``, win rate against GPT-4-0314 with a bootstrapped 95% CI), each
called through its own tool, against a configurable OpenAI-compatible endpoint.

Secrets. The API key is read from the environment variable the config names (never from a file) and
handed to the tools through the environment of the judging process only: alpaca_eval's client config file
(``OPENAI_CLIENT_CONFIG_PATH`` format) and arena-hard-auto's ``api_config.yaml`` are written *without* a key,
and the ``openai`` client both tools create reads ``OPENAI_API_KEY`` (and, for arena-hard-auto,
``OPENAI_BASE_URL``) from that environment. No key reaches a results file, a cache or a log (checked in the
tests), and error messages never quote it.

Caches (a rerun does not pay twice):

* alpaca_eval keeps every annotation in ``annotations_seed0_configs.json`` beside the annotator config this
  module writes (``<cache>/<annotator>/configs.yaml``); an annotation is keyed by the instruction and both
  outputs, so changed outputs are judged again and unchanged ones are not.
* arena-hard-auto's ``gen_judgment.py`` appends one judgment per question and skips questions already
  judged; its working folder (questions, answers, configs, judgments) is kept under the cache. Judgments
  are kept only while the answers, the judge model, the baseline and the tool's commit are the ones they
  were made for (``judged_for.json``); otherwise they are removed first (logged), never reused.

Pre-flight: :func:`preflight` fails with one message naming the variable (key unset) or the endpoint
(unreachable, or the key refused) before anything is judged.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml

from bmc.io import atomic_dir, read_json, write_text

log = logging.getLogger(__name__)

PLACEHOLDER_KEY = "no-key"  # what the openai client gets for an endpoint that needs no key (a local server)


class JudgeError(RuntimeError):
    """A judge cannot run: no key, endpoint unreachable, tool missing, inputs that do not match."""


@dataclass
class JudgeEndpoint:
    """An OpenAI-compatible chat-completions endpoint (config ``instruction_following.judge``: base_url, api_key_env)."""

    base_url: str = "https://api.openai.com/v1"
    api_key_env: str | None = "OPENAI_API_KEY"  # None: the endpoint needs no key
    timeout_s: float = 20.0  # for the pre-flight request

    def api_key(self, environ: dict | None = None) -> str | None:
        environ = os.environ if environ is None else environ
        if not self.api_key_env:
            return None
        key = environ.get(self.api_key_env)
        if not key:
            raise JudgeError(f"the judge endpoint {self.base_url} needs an API key in the environment variable "
                             f"{self.api_key_env}, which is not set")
        return key


def missing_key(endpoint: JudgeEndpoint, environ: dict | None = None) -> str | None:
    """Why the judges cannot run for lack of a key (a sentence naming the variable), or None."""
    try:
        endpoint.api_key(environ)
    except JudgeError as e:
        return str(e)
    return None


def preflight(endpoint: JudgeEndpoint, what: str = "judge") -> None:
    """Fail with one clear message if the key is unset, the endpoint cannot be reached, or it refuses the key.
    A ``GET <base_url>/models`` is the probe; any answer other than 401/403 counts as reachable (some
    OpenAI-compatible servers have no ``/models``)."""
    key = endpoint.api_key()
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    url = endpoint.base_url.rstrip("/") + "/models"
    try:
        r = requests.get(url, headers=headers, timeout=endpoint.timeout_s)
    except requests.RequestException as e:
        raise JudgeError(f"{what}: the judge endpoint {endpoint.base_url} is unreachable ({type(e).__name__}); the "
                         "judge rules need the network and a reachable endpoint (instruction_following.judge."
                         "base_url)") from None
    if r.status_code in (401, 403):
        fix = (f"check the key in ${endpoint.api_key_env}" if endpoint.api_key_env else
               "it wants an API key: set instruction_following.judge.api_key_env")
        raise JudgeError(f"{what}: the judge endpoint {endpoint.base_url} refused the request (HTTP "
                         f"{r.status_code}): {fix}")


@contextlib.contextmanager
def openai_environment(endpoint: JudgeEndpoint, base_url_var: bool = False):
    """The key (and optionally the base URL) in this process's environment, where the ``openai`` client reads
    them, for the duration of the block only."""
    values = {"OPENAI_API_KEY": endpoint.api_key() or PLACEHOLDER_KEY}
    if base_url_var:
        values["OPENAI_BASE_URL"] = endpoint.base_url
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def fingerprint(*parts: Any) -> str:
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, Path):
            h.update(p.read_bytes())
        else:
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()


def _finite(x) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) or math.isinf(x) else x


# ============================================================================================== AlpacaEval
@dataclass
class AlpacaEvalJudge:
    """Config ``instruction_following.judge.alpaca_eval``."""

    annotator: str = "weighted_alpaca_eval_gpt4_turbo"  # an alpaca_eval evaluator config (AlpacaEval 2's default)
    model: str | None = None  # the judge model at the endpoint; None: the annotator's own (gpt-4-1106-preview)
    concurrency: int = 8  # parallel requests
    max_instances: int | None = None  # judge only the first N (tests); None: all


def _pkg_resources_shim() -> None:
    """alpaca_eval 0.6.6 imports ``pkg_resources`` for two helpers (``parse_version``, ``get_distribution``);
    setuptools >= 81 no longer ships it. Where it is missing, an equivalent module built on ``packaging`` and
    ``importlib.metadata`` stands in (nothing else of setuptools is used)."""
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        import importlib.metadata
        import types

        from packaging.version import parse

        shim = types.ModuleType("pkg_resources")
        shim.parse_version = parse
        shim.get_distribution = lambda name: types.SimpleNamespace(version=importlib.metadata.version(name))
        sys.modules["pkg_resources"] = shim


def import_alpaca_eval():
    """alpaca_eval, imported lazily (an optional dependency: the ``judge`` extra)."""
    _pkg_resources_shim()
    try:
        import alpaca_eval.constants
        import alpaca_eval.main  # noqa: F401
    except ImportError as e:
        raise JudgeError("the AlpacaEval judge needs alpaca_eval: pip install -e '.[judge]' "
                         f"({type(e).__name__}: {e})") from e
    return alpaca_eval


def write_client_config(path: str | Path, endpoint: JudgeEndpoint) -> Path:
    """alpaca_eval's client config (``client_configs/README.md`` format): the endpoint's base URL, no key
    (the ``openai.OpenAI`` client it builds reads ``OPENAI_API_KEY`` from the environment)."""
    path = Path(path)
    write_text(path, yaml.safe_dump({"default": [{"base_url": endpoint.base_url}]}, sort_keys=False))
    return path


def write_annotator_config(cache_dir: str | Path, judge: AlpacaEvalJudge,
                           client_config: str | Path) -> tuple[Path, str]:
    """(path, judge model) of a copy of the annotator's shipped config with the judge model, the client config and the concurrency
    filled in; its folder is where alpaca_eval keeps the annotation cache. The prompt template is pointed at
    the shipped file (absolute path), so nothing of the evaluator is re-typed here."""
    ae = import_alpaca_eval()
    shipped = Path(ae.constants.EVALUATORS_CONFIG_DIR) / judge.annotator / "configs.yaml"
    if not shipped.is_file():
        raise JudgeError(f"alpaca_eval has no evaluator config {judge.annotator!r} ({shipped} not found)")
    configs = yaml.safe_load(shipped.read_text())
    if len(configs) != 1:
        raise JudgeError(f"{shipped}: expected one annotator, got {list(configs)}")
    (name, cfg), = configs.items()
    template = Path(cfg["prompt_template"])
    if not template.is_absolute():
        template = Path(ae.constants.EVALUATORS_CONFIG_DIR) / template
    cfg["prompt_template"] = str(template)
    kwargs = cfg.setdefault("completions_kwargs", {})
    if cfg.get("fn_completions", "openai_completions") != "openai_completions":
        raise JudgeError(f"annotator {judge.annotator!r} does not call an OpenAI-compatible endpoint "
                         f"(fn_completions: {cfg.get('fn_completions')})")
    if judge.model:
        kwargs["model_name"] = judge.model
    kwargs["client_config_path"] = str(Path(client_config).resolve())
    kwargs["num_procs"] = judge.concurrency
    out = Path(cache_dir) / judge.annotator / "configs.yaml"
    write_text(out, yaml.safe_dump({name: cfg}, sort_keys=False))
    return out, kwargs["model_name"]


def check_same_instructions(model_outputs: list[dict], reference: list[dict], where: str) -> None:
    """alpaca_eval pairs outputs with references by instruction; a mismatch makes its LC win rate NaN."""
    if len(model_outputs) != len(reference):
        raise JudgeError(f"{where}: {len(model_outputs)} model outputs but {len(reference)} reference outputs")
    for i, (a, b) in enumerate(zip(model_outputs, reference), start=1):
        if a.get("instruction") != b.get("instruction"):
            raise JudgeError(f"{where}, row {i}, field 'instruction': differs from the reference's row {i}")


def reference_for(model_outputs: list[dict], reference: list[dict], where: str) -> list[dict]:
    """The reference rows of the judged instructions, in the outputs' order (all 805 for Table 2; the first N
    of a limited run). An instruction without a reference fails, naming its row."""
    by_instruction = {r["instruction"]: r for r in reference}
    out = []
    for i, row in enumerate(model_outputs, start=1):
        ref = by_instruction.get(row.get("instruction"))
        if ref is None:
            raise JudgeError(f"{where}, row {i}, field 'instruction': not among the reference outputs")
        out.append(ref)
    return out


def length_control_data() -> Path:
    """AlpacaEval 2's length-controlled win rate regularises its GLM with ``df_gamed.csv`` of the hub dataset
    ``tatsu-lab/alpaca_eval`` (alpaca_eval downloads it at metric time, after every paid annotation).
    Fetched here first, so that a missing file fails before anything is judged."""
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download("tatsu-lab/alpaca_eval", "df_gamed.csv", repo_type="dataset"))
    except Exception as e:
        raise JudgeError("AlpacaEval's length-controlled win rate needs df_gamed.csv of the Hugging Face Hub dataset "
                         "tatsu-lab/alpaca_eval: the judge job downloads it when the hub is reachable, otherwise it "
                         f"must be in the Hugging Face cache ({type(e).__name__})") from None


SCORE_KEYS = ("length_controlled_winrate", "lc_standard_error", "win_rate", "standard_error", "discrete_win_rate",
              "n_wins", "n_wins_base", "n_draws", "n_total", "avg_length")


LC_METRIC = "get_length_controlled_winrate"


def run_alpaca_eval(model_outputs: str | Path, reference_outputs: str | Path, cache_dir: str | Path,
                    endpoint: JudgeEndpoint, judge: AlpacaEvalJudge, metric: str = LC_METRIC) -> dict:
    """Judge one ``model_outputs.json`` against the reference outputs; returns the scores (LC win rate and its
    standard error, raw win rate, counts). Annotations are cached in ``cache_dir``. ``metric``: alpaca_eval's
    metric function (AlpacaEval 2's length-controlled one; ``get_winrate`` gives the raw win rate alone and
    needs no hub file)."""
    preflight(endpoint, "AlpacaEval judge")
    import_alpaca_eval()  # before anything is paid for
    outputs = read_json(model_outputs)
    reference = reference_for(outputs, read_json(reference_outputs), str(model_outputs))
    check_same_instructions(outputs, reference, str(model_outputs))
    if metric == LC_METRIC:
        length_control_data()
    name = outputs[0]["generator"]
    cache_dir = Path(cache_dir)
    client = write_client_config(cache_dir / "openai_client.yaml", endpoint)
    config_path, judge_model = write_annotator_config(cache_dir, judge, client)
    ae = import_alpaca_eval()
    from alpaca_eval.main import evaluate

    results_dir = cache_dir / "results" / name
    results_dir.mkdir(parents=True, exist_ok=True)
    with openai_environment(endpoint):
        leaderboard, annotations = evaluate(
            model_outputs=[dict(r) for r in outputs], reference_outputs=[dict(r) for r in reference],
            annotators_config=str(config_path), name=name, output_path=str(results_dir),
            precomputed_leaderboard=None, is_return_instead_of_print=True,
            fn_metric=metric,
            metric_kwargs={"save_weights_dir": str(cache_dir / "glm_weights")} if metric == LC_METRIC else None,
            sort_by="length_controlled_winrate" if metric == LC_METRIC else "win_rate",
            max_instances=judge.max_instances, is_cache_leaderboard=False)
    row = leaderboard.loc[name]
    scores = {k: _finite(row[k]) for k in SCORE_KEYS if k in row}
    import pandas as pd

    annotations = pd.DataFrame(annotations)  # alpaca_eval returns a frame or a list of records
    failed = int(annotations["preference"].isna().sum()) if "preference" in annotations else None
    return scores | {
        "model": name, "annotator": judge.annotator, "judge_model": judge_model,
        "reference": reference[0]["generator"], "n_annotations": len(annotations),
        "annotations_without_preference": failed, "alpaca_eval_version": getattr(ae, "__version__", None),
        "endpoint": endpoint.base_url, "annotation_cache": str(config_path.parent),
    }


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


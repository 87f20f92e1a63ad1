"""The AlpacaEval 2 judge (paper Table 2's AE2 LC/WR/Len columns; the ``alpaca_eval`` tool, pinned in
pyproject's ``judge`` extra): the annotator and client configs (no key), the reference outputs, and the
length-controlled win rate against GPT-4 Turbo.

Secrets, caches and the pre-flight are described in :mod:`bmc.instruction_following.judges`.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from bmc.instruction_following.judges import JudgeEndpoint, JudgeError, _finite, openai_environment, preflight
from bmc.io import read_json, write_text

log = logging.getLogger(__name__)

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

"""Edit-distance splits and the δ sweep: the distance, equal splits, the sweep tables, config, figures, plan."""

from __future__ import annotations

import json
import math
import random

import pandas as pd
import pytest
from workflow_api import REPO, plan, run

from bmc.analysis.splits import equal_parts, normalized_edit_distance, split_pairs, units_for
from bmc.config import ConfigError, delta_is_main, delta_key, delta_settings, delta_sweep, edit_distance_sweep
from bmc.report.sweeps import (
    delta_frame,
    edit_distance_frame,
    grad_norm_stats,
    load_paper_delta,
    load_paper_edit_distance,
)

MICRO = REPO / "configs" / "micro.yaml"
TINY = REPO / "configs" / "tiny.yaml"


def levenshtein(a, b) -> int:
    """Textbook dynamic programme, independent of rapidfuzz."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        cur = [i]
        for j, y in enumerate(b, start=1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


# ------------------------------------------------------------------------------------------- the distance
def test_normalized_edit_distance_known_values():
    assert normalized_edit_distance([1, 2, 3], [1, 2, 3]) == 0.0
    assert normalized_edit_distance([1, 2, 3], [4, 5]) == 1.0
    assert normalized_edit_distance([1, 2, 3], [1, 2, 4]) == pytest.approx(1 / 3)
    assert normalized_edit_distance("kitten", "sitting") == pytest.approx(3 / 7)
    assert normalized_edit_distance([], []) == 0.0
    assert normalized_edit_distance([7], []) == 1.0


def test_normalized_edit_distance_matches_an_independent_levenshtein():
    rng = random.Random(0)
    for _ in range(200):
        a = [rng.randrange(5) for _ in range(rng.randrange(0, 12))]
        b = [rng.randrange(5) for _ in range(rng.randrange(0, 12))]
        expected = levenshtein(a, b) / max(len(a), len(b), 1)
        assert normalized_edit_distance(a, b) == pytest.approx(expected)
        assert normalized_edit_distance(b, a) == pytest.approx(expected)


def test_token_units_are_the_tokenizer_ids(tokenizer):
    units = units_for("token", tokenizer)
    a, b = "The answer is 12", "The answer is 15"
    ids_a = tokenizer(a, add_special_tokens=False)["input_ids"]
    ids_b = tokenizer(b, add_special_tokens=False)["input_ids"]
    assert units(a) == ids_a
    assert normalized_edit_distance(units(a), units(b)) == pytest.approx(
        levenshtein(ids_a, ids_b) / max(len(ids_a), len(ids_b)))
    assert units_for("character")(a) == a
    with pytest.raises(ValueError, match="unit"):
        units_for("word")
    with pytest.raises(ValueError, match="tokenizer"):
        units_for("token")


# ---------------------------------------------------------------------------------------------- the split
@pytest.mark.parametrize("n,k", [(10, 3), (9, 3), (7, 7), (5, 1), (100, 6)])
def test_equal_parts_cover_every_row_once_in_distance_order(n, k):
    rng = random.Random(n * k)
    d = [rng.choice([0.0, 0.1, 0.25, 0.5, 1.0]) for _ in range(n)]
    parts = equal_parts(d, k)
    assert len(parts) == k
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)
    flat = [i for p in parts for i in p]
    assert sorted(flat) == list(range(n))
    assert [d[i] for i in flat] == sorted(d)
    # ties are ordered by row index: deterministic
    for a, b in zip(flat, flat[1:]):
        assert d[a] < d[b] or (d[a] == d[b] and a < b)


def test_equal_parts_rejects_more_splits_than_pairs():
    with pytest.raises(ValueError, match="cannot cut 2 pairs into 3 splits"):
        equal_parts([0.1, 0.2], 3)


def _pair(y_w, y_l, chosen=None, bridged=True):
    return {"problem": "q", "answer": "a", "y_w": y_w, "y_l": y_l, "bridged": bridged,
            "bridged_chosen": chosen if chosen is not None else y_w, "bridged_rejected": y_l}


def test_split_pairs_cuts_by_the_original_distance_and_records_the_bridged_one():
    rows = [
        _pair("abcd", "wxyz", chosen="abyz"),   # original 1.0, bridged 0.5
        _pair("abcd", "abcd"),                  # 0.0
        _pair("abcd", "abcx", chosen="abcx", bridged=False),   # 0.25, bridged 0.0
        _pair("abcd", "abxy", chosen="abxd"),   # 0.5, bridged 0.25
        _pair("abcd", "axyz"),                  # 0.75
        _pair("abcd", "abcy"),                  # 0.25 (tie with row 2, later row)
    ]
    splits, summary = split_pairs(rows, 3, units_for("character"))
    assert [[r["edit_distance"] for r in s] for s in splits] == [[0.0, 0.25], [0.25, 0.5], [0.75, 1.0]]
    assert [r["y_l"] for r in splits[0]] == ["abcd", "abcx"] and splits[1][0]["y_l"] == "abcy"  # tie: file order
    assert all(r["split"] == j for j, s in enumerate(splits, start=1) for r in s)
    assert splits[2][1]["edit_distance_bridged"] == 0.5 and splits[0][1]["edit_distance_bridged"] == 0.0
    assert summary["k"] == 3 and summary["pairs"] == 6
    assert summary["boundaries"] == [0.25, 0.5]
    assert summary["boundaries_with_ties"] == 1  # 0.25 on both sides of the first boundary
    first = summary["splits"][0]
    assert first == {"split": 1, "pairs": 2, "distance_min": 0.0, "distance_max": 0.25, "distance_mean": 0.125,
                     "bridged_distance_mean": 0.0, "pairs_bridged": 1}
    assert summary["splits"][2]["bridged_distance_mean"] == pytest.approx((0.75 + 0.5) / 2)
    # the rows keep every field the training script reads
    assert all({"problem", "y_w", "y_l", "answer", "bridged_chosen", "bridged_rejected"} <= set(r)
               for s in splits for r in s)
    assert split_pairs(rows, 3, units_for("character")) == (splits, summary)  # deterministic


def test_split_pairs_errors_name_the_file():
    with pytest.raises(ValueError, match="pairs.jsonl: no pairs"):
        split_pairs([], 2, units_for("character"), path="pairs.jsonl")
    with pytest.raises(ValueError, match="pairs.jsonl: cannot cut 1 pairs into 2"):
        split_pairs([_pair("a", "b")], 2, units_for("character"), path="pairs.jsonl")


# -------------------------------------------------------------------------------------------- sweep tables
def test_grad_norm_stats_mean_of_logged_steps_only():
    history = [{"loss": 0.7, "grad_norm": 1.0, "step": 10}, {"loss": 0.6, "grad_norm": 3.0, "step": 20},
               {"train_loss": 0.65, "step": 25}, {"loss": 0.5, "grad_norm": float("nan"), "step": 30}]
    assert grad_norm_stats(history) == (2.0, 2)
    mean, n = grad_norm_stats([{"loss": 0.7}])
    assert math.isnan(mean) and n == 0


def _scores(avg):
    return {"average": avg, "average_normalized": avg + 1}


def _run(norms, steps=20):
    return {"result": {"steps": steps, "log_history": [{"loss": 0.6, "grad_norm": g} for g in norms]}}


def test_delta_frame_rows():
    points = [{"task": "qa", "delta": d, "method": "DPO-BMC", "source": s, "scores": _scores(a), "run_info": _run(g),
               "reference_method": "DPO", "reference_scores": _scores(45.0), "sft_scores": _scores(46.0)}
              for d, s, a, g in [(3.0, "main study", 47.0, [1.0, 2.0]), (1.0, "sweep", 44.0, [0.5])]]
    frame = delta_frame(points)
    assert list(frame["delta"]) == [1.0, 3.0]  # sorted
    row = frame.iloc[1]
    assert (row["score"], row["score_normalized"], row["mean_grad_norm"], row["grad_norm_logged_steps"]) == \
        (47.0, 48.0, 1.5, 2)
    assert (row["source"], row["reference_score"], row["sft_score"]) == ("main study", 45.0, 46.0)


def test_edit_distance_frame_uses_the_distance_of_the_pairs_a_method_trains_on():
    split = {"split": 1, "pairs": 10, "distance_min": 0.1, "distance_max": 0.3, "distance_mean": 0.2,
             "bridged_distance_mean": 0.05, "pairs_bridged": 10}
    points = [{"task": "qa", "split": split, "method": m, "trains_on": on, "scores": _scores(40.0),
               "run_info": _run([]), "sft_scores": _scores(41.0)} for m, on in [("DPO", "original"),
                                                                             ("DPO-BMC", "bridged")]]
    frame = edit_distance_frame(points)
    assert list(frame["distance_trained"]) == [0.2, 0.05]
    assert frame["mean_grad_norm"].isna().all() and list(frame["grad_norm_logged_steps"]) == [0, 0]


def test_paper_values():
    delta = load_paper_delta()
    bmc = delta[delta["method"] == "DPO-BMC"].set_index("delta")["qa_avg"]
    assert list(bmc.index) == [1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
    assert bmc[3.0] == 65.1 and bmc.idxmax() == 3.0  # Table 1's DPO-BMC QA average, the optimum
    assert delta.loc[delta["method"] == "DPO", "qa_avg"].item() == 61.3
    assert (bmc > 61.3).all()  # "every δ beats DPO"
    fig5 = load_paper_edit_distance()
    assert len(fig5) == 24 and set(fig5["method"]) == {"DPO", "DPO-MC", "DPO-BC", "DPO-BMC"}
    dpo = fig5[fig5["method"] == "DPO"].set_index("split")
    assert dpo.loc[6, "grad_norm"] == 13.0 and dpo.loc[1, "edit_distance"] == 0.57
    bridged = fig5[fig5["pairs"] == "bridged"].set_index(["method", "split"])["edit_distance"]
    original = dpo["edit_distance"]
    assert all(bridged["DPO-BMC"][s] < original[s] for s in range(1, 7))  # bridging lowers the distance


# -------------------------------------------------------------------------------------------------- config
def _config():
    import yaml

    return yaml.safe_load(MICRO.read_text())


def test_sweep_config_resolution():
    cfg = _config()
    d = delta_sweep(cfg)
    assert d["values"] == [1.0, 3.0] and d["tasks"] == ["qa"] and d["method"] == "dpo_bmc"
    assert delta_key(3) == "3.0" and delta_key(2.5) == "2.5"
    assert delta_is_main(cfg, "qa", 3.0) and not delta_is_main(cfg, "qa", 1.0)
    s = delta_settings(cfg, "qa", 1.0)
    assert s.delta == 1.0 and s.beta == 0.05
    e = edit_distance_sweep(cfg)
    assert (e["k"], e["unit"], e["methods"], e["tasks"]) == (2, "token", ["dpo", "dpo_bmc"], ["qa"])
    # without a sweeps block: defaults, narrowed to the methods the study has
    del cfg["sweeps"]
    assert delta_sweep(cfg)["tasks"] == ["qa", "math"] and edit_distance_sweep(cfg)["k"] == 6
    cfg["methods"] = {"dpo": cfg["methods"]["dpo"]}
    assert delta_sweep(cfg)["tasks"] == [] and edit_distance_sweep(cfg)["methods"] == ["dpo"]


@pytest.mark.parametrize("sweeps,message", [
    ({"delta": {"method": "dpo"}}, "bmc_weights: false"),
    ({"delta": {"reference": "nope"}}, "sweeps.delta.reference"),
    ({"delta": {"values": [1, 1.0]}}, "distinct"),
    ({"delta": {"tasks": ["if"]}}, "sweeps.delta.tasks"),
    ({"edit_distance": {"methods": ["dpo_bmc_degraded"]}}, "half_degraded"),
    ({"edit_distance": {"methods": ["nope"]}}, "no method 'nope'"),
    ({"edit_distance": {"unit": "word"}}, "unit"),
])
def test_sweep_config_errors_name_the_key(sweeps, message):
    cfg = _config()
    cfg["sweeps"] = sweeps
    with pytest.raises(ConfigError, match=message):
        delta_sweep(cfg) if "delta" in sweeps else edit_distance_sweep(cfg)


def test_schema_rejects_a_misspelt_sweep_key(tmp_path):
    with pytest.raises(Exception, match="kk"):
        plan(tmp_path, [MICRO], config={"sweeps": {"edit_distance": {"kk": 3}}}, targets=("sweeps",))


# ------------------------------------------------------------------------------------------------- figures
def test_figures_are_written_as_png_and_pdf(tmp_path):
    from bmc.report.figures import delta_figure, edit_distance_figure

    points = [{"task": t, "delta": d, "method": "DPO-BMC", "source": "sweep", "scores": _scores(40 + d),
               "run_info": _run([d]), "reference_method": "DPO", "reference_scores": _scores(42.0),
               "sft_scores": _scores(43.0)} for t in ("qa", "math") for d in (1.0, 2.0, 3.0)]
    paths = [tmp_path / "delta.png", tmp_path / "delta.pdf"]
    delta_figure(delta_frame(points), load_paper_delta(), {"qa": 3.0, "math": 2.5}, {"qa": "QA", "math": "Math"},
                 "test", paths)
    splits = [{"split": j, "pairs": 5, "distance_min": j / 10, "distance_max": j / 10 + 0.05, "distance_mean": j / 10,
               "bridged_distance_mean": j / 20, "pairs_bridged": 5} for j in (1, 2, 3)]
    points = [{"task": "qa", "split": s, "method": m, "trains_on": on, "scores": _scores(40.0 + s["split"]),
               "run_info": _run([] if m == "DPO" and s["split"] == 2 else [s["split"]]), "sft_scores": _scores(41.0)}
              for m, on in [("DPO", "original"), ("DPO-BMC", "bridged")] for s in splits]
    paths += [tmp_path / "ed.png", tmp_path / "ed.pdf"]
    edit_distance_figure(edit_distance_frame(points), load_paper_edit_distance(), {"qa": "QA"}, "test", paths[2:])
    for p in paths:
        assert p.read_bytes().startswith(b"\x89PNG\r\n\x1a\n" if p.suffix == ".png" else b"%PDF"), p
    assert not list(tmp_path.glob(".*.tmp"))


# ---------------------------------------------------------------------------------------------- workflow
def test_sweep_targets_are_planned_on_micro(tmp_path):
    planned = plan(tmp_path, [MICRO], targets=("sweeps",))
    d, e = "results/micro/sweeps/delta", "results/micro/sweeps/edit_distance"
    expected = {
        f"{d}/models/qa/delta1.0": "train_delta",
        f"{d}/eval/qa/delta1.0/scores.json": "evaluate_delta",
        f"{d}/delta.csv": "figure_delta", f"{d}/delta.png": "figure_delta", f"{d}/delta.pdf": "figure_delta",
        f"{e}/pairs/qa/split1.jsonl": "split_pairs", f"{e}/pairs/qa/split2.jsonl": "split_pairs",
        f"{e}/pairs/qa/splits.json": "split_pairs",
        f"{e}/edit_distance.csv": "figure_edit_distance", f"{e}/edit_distance.png": "figure_edit_distance",
        f"{e}/edit_distance.pdf": "figure_edit_distance",
        # δ 3.0 is QA's own δ: the main study's DPO-BMC model and score, DPO as the reference line
        "results/micro/models/dpo_bmc/qa": "train_preference", "results/micro/eval/qa/dpo/scores.json": "evaluate_task",
    }
    for m in ("dpo", "dpo_bmc"):
        for i in (1, 2):
            expected[f"{e}/models/{m}/qa/split{i}"] = "train_split"
            expected[f"{e}/eval/qa/{m}/split{i}/scores.json"] = "evaluate_split"
    for f, rule in expected.items():
        assert planned.get(f) == rule, f
    assert f"{d}/models/qa/delta3.0" not in planned  # not trained twice
    sweep_rules = {"split_pairs", "train_split", "evaluate_split", "train_delta", "evaluate_delta"}
    assert not any("/math" in f for f, r in planned.items() if r in sweep_rules)  # sweeps.*.tasks: [qa]


def test_sweeps_are_not_part_of_all(tmp_path):
    assert not {"split_pairs", "train_split", "train_delta", "figure_delta"} & set(plan(tmp_path, [MICRO]).values())


def test_tiny_plans_both_sweeps(tmp_path):
    planned = plan(tmp_path, [TINY], targets=("figure_delta", "figure_edit_distance"))
    trained = sorted(f for f, r in planned.items() if r == "train_delta")
    # six δ per task, the task's own δ (QA 3.0, math 2.5) comes from the main study
    assert trained == sorted(f"results/tiny/sweeps/delta/models/{t}/delta{d}" for t, own in (("qa", "3.0"), ("math", "2.5"))
                             for d in ("1.0", "1.5", "2.0", "2.5", "3.0", "3.5") if d != own)
    assert sum(r == "train_split" for r in planned.values()) == 2 * 2 * 3  # tasks x methods x k


@pytest.mark.slow
def test_micro_sweeps_end_to_end(micro_study):
    tmp_path = micro_study  # the sweeps reuse the study's models where they can (QA's own delta)
    run(tmp_path, [MICRO], targets=("sweeps",))
    r = tmp_path / "results" / "micro" / "sweeps"
    delta = pd.read_csv(r / "delta" / "delta.csv")
    assert list(delta["delta"]) == [1.0, 3.0] and list(delta["source"]) == ["sweep", "main study"]
    assert delta["score"].notna().all() and (delta["reference_method"] == "DPO").all()
    info = json.loads((r / "delta" / "models" / "qa" / "delta1.0" / "run_info.json").read_text())
    assert info["result"]["bmc_delta"] == 1.0 and info["result"]["steps"] > 0
    ed = pd.read_csv(r / "edit_distance" / "edit_distance.csv")
    assert len(ed) == 4 and set(ed["method"]) == {"DPO", "DPO-BMC"} and ed["score"].notna().all()
    summary = json.loads((r / "edit_distance" / "pairs" / "qa" / "splits.json").read_text())
    assert summary["splits"][0]["distance_max"] <= summary["splits"][1]["distance_min"]
    assert sum(s["pairs"] for s in summary["splits"]) == summary["pairs"]
    n = sum(1 for _ in (r / "edit_distance" / "pairs" / "qa" / "split1.jsonl").open())
    assert n == summary["splits"][0]["pairs"]
    for f in ("delta/delta.png", "delta/delta.pdf", "edit_distance/edit_distance.png", "edit_distance/edit_distance.pdf"):
        assert (r / f).stat().st_size > 1000, f
    for rule in ("split_pairs", "train_split", "evaluate_split", "train_delta", "evaluate_delta", "figure_delta"):
        assert any((tmp_path / "results" / "micro" / "benchmarks" / rule).rglob("*.tsv")), rule
    assert plan(tmp_path, [MICRO], targets=("sweeps",)) == {}

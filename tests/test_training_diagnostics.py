"""Training diagnostics (tables/training.md): rows from a run's log, held-out rewards and scores; the pre-registered
bars; the mechanism summary of the token rewards (Figure 6) and the rule that picks its example pair."""

from __future__ import annotations

import math

import pytest

from bmc.analysis.rewards import mark_summary, median_marked_example
from bmc.analysis.training import bar_checks, curves, markdown, run_row, training_frame


def run_info(loss_last=0.5, acc_last=0.8, beta=1.0):
    history = [{"loss": 0.69, "rewards/accuracies": 0.5, "rewards/margins": 0.0, "logps/chosen": -5.0,
                "logps/rejected": -6.0, "step": 10},
               {"loss": loss_last, "rewards/accuracies": acc_last, "rewards/margins": 0.6, "logps/chosen": -5.2,
                "logps/rejected": -7.5, "step": 20},
               {"train_runtime": 3.0, "step": 20}]  # the final summary entry carries no loss
    return {"result": {"beta": beta, "steps": 20, "log_history": history}}


def row(task="math", method="dpo", seed=0, accuracy=75.0, rewards=(0.7, 0.4), **kw):
    summary = {"accuracy": rewards[0], "margin_mean": rewards[1]} if rewards else None
    return run_row(task, method, method.upper(), seed, run_info(**kw), {"average": accuracy}, {"average": 71.0},
                   summary)


def test_a_row_reads_the_first_and_last_logged_step_and_the_held_out_rewards():
    r = row(beta=0.5)
    assert (r["loss_first"], r["loss_last"]) == (0.69, 0.5)
    assert r["train_reward_accuracy_last"] == 0.8 and r["train_margin_last"] == 0.6
    assert (r["logps_chosen_first"], r["logps_chosen_last"], r["logps_rejected_last"]) == (-5.0, -5.2, -7.5)
    assert r["heldout_reward_accuracy"] == 0.7 and r["heldout_logratio_margin"] == pytest.approx(0.8)
    assert r["accuracy_vs_sft"] == pytest.approx(4.0) and r["steps"] == 20


def test_a_run_without_held_out_rewards_leaves_them_empty():
    r = row(rewards=None)
    assert r["heldout_reward_accuracy"] is None and r["heldout_margin"] is None


def test_a_log_without_a_training_step_is_an_error_naming_the_file():
    with pytest.raises(ValueError, match="models/dpo/math/run_info.json"):
        run_row("math", "dpo", "DPO", 0, {"result": {"log_history": [{"train_runtime": 1}]}}, {"average": 1},
                {"average": 1}, None, "models/dpo/math/run_info.json")


BARS = {"method": "dpo", "train_reward_accuracy": 0.75, "train_loss": 0.6, "heldout_reward_accuracy": 0.6,
        "heldout_margin": {"qa": 0.02, "math": 0.03}, "accuracy_vs_sft": -1.0}


def test_bars_are_judged_on_the_mean_over_seeds_per_task():
    frame = training_frame([row(seed=0, acc_last=0.9), row(seed=1, acc_last=0.62),  # mean 0.76: met
                            row(task="qa", seed=0, loss_last=0.7, rewards=(0.55, 0.01), accuracy=69.0),
                            row(method="dpo_bmc", acc_last=0.1)])                  # not the bars' method
    checks = bar_checks(frame, BARS).set_index(["task", "bar"])
    assert checks.loc[("math", "train_reward_accuracy"), "mean_over_seeds"] == pytest.approx(0.76)
    assert checks.loc[("math", "train_reward_accuracy"), "met"] and checks.loc[("math", "heldout_margin"), "met"]
    assert checks.loc[("math", "train_reward_accuracy"), "seeds"] == 2
    qa = checks.loc["qa"]
    assert not qa.loc["train_loss", "met"] and not qa.loc["heldout_reward_accuracy", "met"]
    assert not qa.loc["heldout_margin", "met"] and qa.loc["heldout_margin", "rule"] == ">= 0.02"
    assert not qa.loc["accuracy_vs_sft", "met"]  # 69 - 71 = -2 < -1


def test_a_bar_that_cannot_be_judged_is_not_met():
    checks = bar_checks(training_frame([row(rewards=None)]), BARS).set_index("bar")
    assert math.isnan(checks.loc["heldout_reward_accuracy", "mean_over_seeds"])
    assert not checks.loc["heldout_reward_accuracy", "met"]


def test_bars_need_a_run_of_their_method():
    with pytest.raises(ValueError, match="no run of method 'dpo'"):
        bar_checks(training_frame([row(method="ipo")]), BARS)


def test_markdown_lists_every_run_and_the_bars():
    frame = training_frame([row(seed=0), row(seed=1), row(task="qa")])
    text = markdown(frame, bar_checks(frame, BARS), "tiny", {"math": "Math", "qa": "QA"})
    assert "## Math" in text and "## QA" in text and "## Pre-registered bars" in text
    assert text.count("| DPO |") == 3
    assert "0.690 → 0.500" in text and "| yes |" in text


def test_curves_follow_the_logged_steps():
    frame = curves(run_info())
    assert list(frame["step"]) == [10, 20] and list(frame["reward_accuracy"]) == [0.5, 0.8]


def pair(chosen_marks, rejected_marks, chosen_rewards=None, rejected_rewards=None):
    def side(marks, rewards):
        return {"token_ids": list(range(len(marks))), "marks": marks, "rewards": rewards or [0.0] * len(marks)}
    return {"chosen": side(chosen_marks, chosen_rewards), "rejected": side(rejected_marks, rejected_rewards)}


def test_mark_summary_pools_the_tokens_of_all_pairs():
    rows = [pair([1, 0], [0, 1], [0.4, 0.0], [-0.1, -0.3]), pair([1, 1, 0], [0], [0.2, 0.0, 0.1], [0.05])]
    s = mark_summary(rows)
    assert s["chosen_marked"] == {"mean": pytest.approx(0.2), "tokens": 3}
    assert s["chosen_unmarked"] == {"mean": pytest.approx(0.05), "tokens": 2}
    assert s["rejected_marked"] == {"mean": pytest.approx(-0.3), "tokens": 1}
    assert s["rejected_unmarked"]["tokens"] == 2 and s["pairs"] == 2


def test_the_example_rule_takes_the_median_marked_pair_that_fits():
    rows = [pair([1, 0], [0, 0]),          # no marked token in y_l: not eligible
            pair([1, 1, 1], [1, 1]),       # 5 marks
            pair([1, 0], [1, 0]),          # 2 marks
            pair([1] * 60, [1]),           # longer than the limit
            pair([1, 1], [1, 0]),          # 3 marks: the median of (5, 2, 3, 3)
            pair([1, 0, 1], [0, 1])]       # 3 marks, later in the file
    assert median_marked_example(rows, max_tokens=48) == 4
    with pytest.raises(ValueError, match="no held-out pair"):
        median_marked_example([pair([1, 0], [0, 0])], max_tokens=48)

"""A convergence check of preference training (as NeMo-RL's CI checks ``preference_loss[150] < 0.68``): a small DPO
and DPO-BMC run through ``bmc.training.preference.train_preference`` must learn its pairs. The values were fixed
before the check was first run: the tiny study's pre-registered training bars (configs/tiny.yaml), last logged
train loss <= 0.6 and train reward accuracy >= 0.75. A change that stops preference training from learning (a
broken mask, weight, collator or loss) fails here in seconds, before any study is run."""

from __future__ import annotations

import random

import pytest

from bmc.training.preference import MethodSpec, PreferenceSettings, train_preference

LOSS_AT_MOST = 0.6
REWARD_ACCURACY_AT_LEAST = 0.75


def arithmetic_pairs(n: int = 48, seed: int = 0) -> list[dict]:
    """y_w a right chain, y_l the same chain with the operation the story does not ask for (an error of choice,
    which even a small random model can learn to avoid), and its bridged pair, which is the same."""
    rng = random.Random(seed)
    pairs = []
    for i in range(n):
        a, b = rng.randint(10, 19), rng.randint(1, 9)
        y_w = f"Bob has {a} coins.\nThen {a} + {b} = {a + b}.\nThe answer is {a + b}"
        y_l = f"Bob has {a} coins.\nThen {a} - {b} = {a - b}.\nThe answer is {a - b}"
        pairs.append({"id": str(i), "problem": f"Bob has {a} coins. Bob gets {b} more coins. How many now?",
                      "answer": str(a + b), "y_w": y_w, "y_l": y_l, "bridged_chosen": y_w, "bridged_rejected": y_l})
    return pairs


@pytest.mark.parametrize("bmc", [False, True], ids=["dpo", "dpo_bmc"])
def test_a_small_preference_run_learns_its_pairs(tmp_path, model_dir, bmc):
    settings = PreferenceSettings(beta=1.0, delta=2.5, learning_rate=1e-3, epochs=4, batch_size=8, max_length=128,
                                  warmup_ratio=0.1, stopwords=["the", "is"], precompute_ref_log_probs=True, seed=0)
    method = MethodSpec(label="DPO-BMC" if bmc else "DPO", pairs="bridged" if bmc else "original", bmc_weights=bmc)
    result = train_preference(model_dir, arithmetic_pairs(), method, settings, tmp_path / "model")
    last = result["log_history"][-1]
    assert result["steps"] == 24
    assert last["loss"] <= LOSS_AT_MOST, result["log_history"]
    assert last["rewards/accuracies"] >= REWARD_ACCURACY_AT_LEAST, result["log_history"]

"""Implicit rewards, token rewards and KL of a policy vs its reference (bmc.analysis.rewards), held-out data
(bmc.analysis.heldout), against an independent one-sequence-at-a-time computation and TRL's own tokenization and
logged rewards."""

from __future__ import annotations

import json

import pytest
import torch
from torch.distributions import Categorical, kl_divergence
from transformers import AutoModelForCausalLM
from trl import DPOConfig, DPOTrainer

from bmc.analysis import rewards as R
from bmc.analysis.heldout import heldout_chosen, heldout_pairs, select_questions
from bmc.io import RecordError
from bmc.sampling.losing import SamplingSettings
from bmc.training.preference import MethodSpec, PreferenceSettings, preference_dataset, train_preference

BETA = 0.05
PAIRS = [
    {"id": "0", "problem": "Rose has 3 pens. Rose gets 4 more pens. How many pens does Rose have now?",
     "y_w": "Rose starts with 3 pens.\nThen 3 + 4 = 7.\nThe answer is 7",
     "y_l": "Rose starts with 3 pens.\nThen 3 + 4 = 8.\nThe answer is 8"},
    {"id": "1", "problem": "Largest: which number is it?\nOptions:\n12\n45\n7\n33",
     "y_w": "Of these, the largest is 45.\nThe answer is 45", "y_l": "The answer is 33"},
    {"id": "2", "problem": "Alice plays which sport?\nOptions:\ntennis\nchess\ngolf\nrugby",
     "y_w": "Let's think step by step.\nAlice is good at chess.\nThe answer is chess",
     "y_l": "Let's think step by step.\nAlice likes to play golf on the weekend with her friends.\nThe answer is golf"},
    {"id": "3", "problem": "Bob has 9 coins. Bob loses 2 coins. Then Bob finds 5 more coins. How many now?",
     "y_w": "At first Bob has 9 coins.\nSo 9 - 2 = 7.\nThen 7 + 5 = 12.\nThe answer is 12",
     "y_l": "At first Bob has 9 coins.\nSo 9 - 2 = 6.\nThen 6 + 5 = 11.\nThe answer is 11"},
    {"id": "4", "problem": "Noah has which job?\nOptions:\npainter\ndoctor\npilot\ndriver",
     "y_w": "Noah works as a pilot.\nThe answer is pilot", "y_l": "Noah works as a driver.\nThe answer is driver"},
]


@pytest.fixture(scope="module")
def models(model_dir):
    """(policy, reference): the reference is the fixture model, the policy a perturbed copy of it."""
    ref = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    policy = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    torch.manual_seed(1)
    with torch.no_grad():
        for p in policy.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return policy, ref


# ---------------------------------------------------------------------------- an independent computation
def _ids(tokenizer, problem, response=None):
    msgs = [{"role": "user", "content": problem}]
    if response is None:
        return tokenizer.apply_chat_template(msgs, tokenize=True, return_dict=True,
                                             add_generation_prompt=True)["input_ids"]
    msgs.append({"role": "assistant", "content": response})
    return tokenizer.apply_chat_template(msgs, tokenize=True, return_dict=True)["input_ids"]


def _one_by_one(policy, ref, tokenizer, problem, response, max_length=None):
    """Per response token: log π_θ, log π_ref and KL(π_ref ‖ π_θ) (torch.distributions), one unpadded sequence."""
    prompt, full = list(_ids(tokenizer, problem)), list(_ids(tokenizer, problem, response))
    assert full[:len(prompt)] == prompt  # this template renders the prompt as a prefix
    ids = full[:max_length] if max_length else full
    x = torch.tensor([ids])
    with torch.no_grad():
        lp_pol = torch.log_softmax(policy(x).logits[0, :-1], -1)
        lp_ref = torch.log_softmax(ref(x).logits[0, :-1], -1)
    positions = range(len(prompt) - 1, len(ids) - 1)  # logits at t predict token t + 1
    tok = [ids[t + 1] for t in positions]
    pol = torch.stack([lp_pol[t, ids[t + 1]] for t in positions])
    rf = torch.stack([lp_ref[t, ids[t + 1]] for t in positions])
    kl = torch.stack([kl_divergence(Categorical(logits=lp_ref[t]), Categorical(logits=lp_pol[t])) for t in positions])
    return tok, pol, rf, kl


def test_tokenization_is_trls(model_dir, tokenizer, tmp_path):
    """The prompt/response boundary and the ids are those TRL's DPOTrainer trains on."""
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    args = DPOConfig(output_dir=str(tmp_path), report_to="none", use_cpu=True, bf16=False, max_length=128,
                     gradient_checkpointing=False, save_strategy="no")
    trainer = DPOTrainer(model, ref_model=AutoModelForCausalLM.from_pretrained(model_dir), args=args,
                         train_dataset=preference_dataset(PAIRS, "original"), processing_class=tokenizer)
    for p, row in zip(PAIRS, trainer.train_dataset):
        prompt_ids, chosen_ids, rejected_ids = R.tokenize_pair(tokenizer, p["problem"], p["y_w"], p["y_l"])
        assert (prompt_ids, chosen_ids, rejected_ids) == (row["prompt_ids"], row["chosen_ids"], row["rejected_ids"])
        assert R.tokenize_response(tokenizer, p["problem"], p["y_w"]) == (row["prompt_ids"], row["chosen_ids"])


@pytest.mark.parametrize("truncate", [False, True])
def test_batched_scores_equal_one_sequence_at_a_time(models, tokenizer, truncate):
    policy, ref = models
    seqs = [R.tokenize_response(tokenizer, p["problem"], p[k]) for p in PAIRS for k in ("y_w", "y_l")]
    max_length = max(len(pr) for pr, _ in seqs) + 5 if truncate else None
    scored = R.score(policy, ref, seqs, max_length=max_length, batch_size=3, pad_token_id=R.pad_id(tokenizer),
                     kl=True)
    assert len(scored) == len(seqs)
    for s, p, k in zip(scored, [p for p in PAIRS for _ in range(2)], ["y_w", "y_l"] * len(PAIRS)):
        tok, pol, rf, kl = _one_by_one(policy, ref, tokenizer, p["problem"], p[k], max_length)
        assert s.token_ids == tok and len(tok) == s.policy_logps.numel()
        torch.testing.assert_close(s.policy_logps, pol, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(s.ref_logps, rf, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(s.kl, kl, atol=1e-6, rtol=1e-4)
        assert s.reward(BETA) == pytest.approx(BETA * float((pol - rf).sum()), abs=1e-5)
    if max_length:  # truncation as TRL's collator (keep the start): the long responses lose their end
        full = [R.score(policy, ref, [sq], pad_token_id=R.pad_id(tokenizer))[0] for sq in seqs]
        assert any(len(a.token_ids) < len(b.token_ids) for a, b in zip(scored, full))


def test_pair_rewards_margins_and_accuracy(models, tokenizer):
    policy, ref = models
    rows = R.pair_rewards(policy, ref, tokenizer, PAIRS, "y_w", "y_l", BETA, batch_size=4)
    for row, p in zip(rows, PAIRS):
        _, pw, rw, _ = _one_by_one(policy, ref, tokenizer, p["problem"], p["y_w"])
        _, pl, rl, _ = _one_by_one(policy, ref, tokenizer, p["problem"], p["y_l"])
        assert row["id"] == p["id"]
        assert row["chosen_reward"] == pytest.approx(BETA * float((pw - rw).sum()), abs=1e-5)
        assert row["margin"] == pytest.approx(BETA * float((pw - rw).sum() - (pl - rl).sum()), abs=1e-5)
    summary = R.reward_summary(rows)
    margins = [r["margin"] for r in rows]
    assert summary["n"] == 5 and summary["margin_mean"] == pytest.approx(sum(margins) / 5)
    assert summary["accuracy"] == sum(m > 0 for m in margins) / 5
    assert 0 < summary["accuracy"] < 1  # the perturbed policy prefers some chosen and some rejected responses


def test_rewards_equal_those_trl_logs(models, tokenizer, tmp_path):
    """TRL's DPOTrainer, evaluating the same policy and reference on the same pairs in one batch, logs the same
    mean chosen/rejected reward, margin and accuracy."""
    policy, ref = models
    args = DPOConfig(output_dir=str(tmp_path), beta=BETA, report_to="none", use_cpu=True, bf16=False,
                     max_length=128, per_device_eval_batch_size=len(PAIRS), gradient_checkpointing=False)
    trainer = DPOTrainer(policy, ref_model=ref, args=args, train_dataset=preference_dataset(PAIRS, "original"),
                         eval_dataset=preference_dataset(PAIRS, "original"), processing_class=tokenizer)
    logged = trainer.evaluate()
    summary = R.reward_summary(R.pair_rewards(policy, ref, tokenizer, PAIRS, "y_w", "y_l", BETA, max_length=128))
    assert summary["margin_mean"] == pytest.approx(logged["eval_rewards/margins"], abs=1e-5)
    assert summary["chosen_reward_mean"] == pytest.approx(logged["eval_rewards/chosen"], abs=1e-5)
    assert summary["rejected_reward_mean"] == pytest.approx(logged["eval_rewards/rejected"], abs=1e-5)
    assert summary["accuracy"] == pytest.approx(logged["eval_rewards/accuracies"])


def test_policy_equal_to_reference_gives_zero(model_dir, tokenizer):
    ref = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    rows = R.pair_rewards(ref, ref, tokenizer, PAIRS, "y_w", "y_l", BETA)
    assert all(r["chosen_reward"] == 0 and r["rejected_reward"] == 0 and r["margin"] == 0 for r in rows)
    summary = R.reward_summary(rows)
    assert summary["margin_mean"] == 0 and summary["accuracy"] == 0 and summary["ties"] == len(PAIRS)
    assert R.heldout_kl(ref, ref, tokenizer, PAIRS)["kl"] == 0
    tr = R.token_rewards(ref, ref, tokenizer, PAIRS[0], "y_w", "y_l", BETA)
    assert set(tr["chosen"]["rewards"]) == {0.0} and set(tr["rejected"]["rewards"]) == {0.0}


def test_kl_is_the_token_mean_and_token_rewards_sum_to_the_reward(models, tokenizer):
    policy, ref = models
    stats = R.heldout_kl(policy, ref, tokenizer, PAIRS, batch_size=2)
    per_token = [_one_by_one(policy, ref, tokenizer, p["problem"], p["y_w"])[3] for p in PAIRS]
    tokens = sum(k.numel() for k in per_token)
    assert stats["tokens"] == tokens and stats["responses"] == len(PAIRS)
    assert stats["kl"] == pytest.approx(float(sum(k.sum() for k in per_token)) / tokens, rel=1e-5)
    assert stats["kl_sequence"] == pytest.approx(float(sum(k.sum() for k in per_token)) / len(PAIRS), rel=1e-5)
    assert stats["kl"] > 0
    tr = R.token_rewards(policy, ref, tokenizer, PAIRS[2], "y_w", "y_l", BETA)
    row = R.pair_rewards(policy, ref, tokenizer, [PAIRS[2]], "y_w", "y_l", BETA)[0]
    assert sum(tr["chosen"]["rewards"]) == pytest.approx(row["chosen_reward"], abs=1e-6)
    assert sum(tr["rejected"]["rewards"]) == pytest.approx(row["rejected_reward"], abs=1e-6)
    assert tokenizer.decode(tr["chosen"]["token_ids"]).strip().startswith("Let's think step by step.")


def test_a_prompt_that_fills_max_length_fails_naming_the_row(models, tokenizer):
    policy, ref = models
    with pytest.raises(RecordError, match=r"pairs.jsonl, row 1, field 'y_w'.*max_length 8"):
        R.pair_rewards(policy, ref, tokenizer, PAIRS[:2], "y_w", "y_l", BETA, max_length=8, path="pairs.jsonl")


def test_reward_summary_needs_pairs():
    with pytest.raises(ValueError, match="no pairs"):
        R.reward_summary([])


# ---------------------------------------------------------------------------- KL logged during training
HELDOUT = heldout_chosen([{"problem": p["problem"], "solution": p["y_w"]} for p in PAIRS], "math", None, seed=0)


def _train(model_dir, tmp_path, name, kl_every_steps, loss="sigmoid"):
    pairs = [p | {"answer": "x", "bridged_chosen": p["y_w"], "bridged_rejected": p["y_l"]} for p in PAIRS * 4]
    settings = PreferenceSettings(learning_rate=1e-3, batch_size=4, max_length=128, stopwords=["the"],
                                  kl_every_steps=kl_every_steps)
    method = MethodSpec(label="DPO-BMC", pairs="bridged", bmc_weights=loss != "simpo", loss=loss)
    out = tmp_path / name
    result = train_preference(model_dir, pairs, method, settings, out,
                              heldout_chosen=HELDOUT)
    return result, out


def _weights(path):
    return AutoModelForCausalLM.from_pretrained(path).state_dict()


def test_kl_callback_logs_every_n_steps_and_leaves_training_unchanged(model_dir, tmp_path):
    with_kl, out_kl = _train(model_dir, tmp_path, "with", kl_every_steps=2)
    without, out_plain = _train(model_dir, tmp_path, "without", kl_every_steps=0)
    assert with_kl["steps"] == without["steps"] == 5 and "heldout_kl" not in without
    steps = [h["step"] for h in with_kl["heldout_kl"]]
    assert steps == [0, 2, 4, 5]  # start, every 2 steps, the end
    kls = [h["heldout_kl"] for h in with_kl["heldout_kl"]]
    assert kls[0] == 0 and all(k > 0 for k in kls[1:])
    assert with_kl["heldout_kl_seconds"] > 0
    assert [h["loss"] for h in with_kl["log_history"]] == [h["loss"] for h in without["log_history"]]
    a, b = _weights(out_kl), _weights(out_plain)
    assert all(torch.equal(a[k], b[k]) for k in a)
    # the final KL is the trained model's KL on the same responses
    final = R.heldout_kl(AutoModelForCausalLM.from_pretrained(out_kl).eval(),
                         AutoModelForCausalLM.from_pretrained(model_dir).eval(),
                         __import__("transformers").AutoTokenizer.from_pretrained(model_dir),
                         HELDOUT, max_length=128)
    assert kls[-1] == pytest.approx(final["kl"], rel=1e-4)
    assert R.kl_history(with_kl["heldout_kl"])[-1] == {"step": 5, "kl": kls[-1],
                                                         "kl_sequence": with_kl["heldout_kl"][-1]["heldout_kl_sequence"]}


def test_kl_callback_for_a_reference_free_loss(model_dir, tmp_path):
    result, _ = _train(model_dir, tmp_path, "simpo", kl_every_steps=3, loss="simpo")
    assert [h["step"] for h in result["heldout_kl"]] == [0, 3, 5] and result["heldout_kl"][-1]["heldout_kl"] > 0


def test_kl_logging_needs_heldout_responses(model_dir, tmp_path):
    settings = PreferenceSettings(batch_size=4, max_length=128, kl_every_steps=2)
    pairs = [p | {"answer": "x", "bridged_chosen": p["y_w"], "bridged_rejected": p["y_l"]} for p in PAIRS]
    with pytest.raises(ValueError, match="held-out chosen"):
        train_preference(model_dir, pairs, MethodSpec(label="DPO", pairs="original", bmc_weights=False), settings,
                         tmp_path / "m")


# ---------------------------------------------------------------------------- held-out data
def test_question_selection_is_seeded_and_in_file_order():
    rows = list(range(50))
    a, b = select_questions(rows, 10, 3), select_questions(rows, 10, 3)
    assert a == b == sorted(a) and len(set(a)) == 10
    assert select_questions(rows, 10, 4) != a
    assert select_questions(rows, None, 0) == select_questions(rows, 80, 0) == list(range(50))


def test_heldout_chosen_are_gold_responses_in_the_training_format():
    rows = [{"problem": f"q{i}", "solution": f"s{i}\nThe answer is {i}", "answer": str(i)} for i in range(20)]
    qa = heldout_chosen(rows, "qa", 5, seed=0)
    assert len(qa) == 5 and all(r["y_w"] == "Let's think step by step.\n" + rows[int(r["id"])]["solution"]
                                and r["problem"] == rows[int(r["id"])]["problem"] for r in qa)
    assert heldout_chosen(rows, "math", 5, seed=0)[0]["y_w"] == rows[int(qa[0]["id"])]["solution"]


class _FixedGenerator:
    """A stand-in SFT model: answers every prompt with the given completions."""

    def __init__(self, tokenizer, completions):
        self.tokenizer, self.completions = tokenizer, completions

    def generate(self, prompts, settings, stop=None, desc="", on_result=None):
        return [list(self.completions) for _ in prompts]


def test_heldout_pairs_keep_the_test_row_as_id(tokenizer):
    rows = [{"problem": f"What is {i} + 0?", "solution": f"{i} + 0 = {i}.\nThe answer is {i}", "answer": str(i),
             "type": "1-step"} for i in range(10)]
    gen = _FixedGenerator(tokenizer, ["The answer is 3", "The answer is 3"])
    pairs, stats = heldout_pairs(gen, rows, "math", SamplingSettings(num_samples=2), questions=4, seed=1)
    picked = select_questions(rows, 4, 1)
    assert stats["questions_selected"] == 4 and stats["test_questions"] == 10
    # the question whose answer is 3 is answered correctly every time: no pair, counted
    assert [p["id"] for p in pairs] == [str(i) for i in picked if i != 3]
    assert all(p["problem"] == rows[int(p["id"])]["problem"] and p["y_l"] == "The answer is 3" for p in pairs)
    assert stats["dropped_all_correct"] == (3 in picked)
    json.dumps(stats)

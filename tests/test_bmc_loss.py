"""The BMC trainer's loss and gradients against an independent implementation of the paper's formula."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from datasets import Dataset
from transformers import AutoModelForCausalLM
from trl import DPOConfig, DPOTrainer

from bmc.training.trainer import BMCConfig, BMCDPOTrainer

BETA = 0.1
PAIRS = [
    ("Rose has 3 pens. Rose gets 4 more pens. How many pens does Rose have now?",
     "Rose starts with 3 pens.\nThen 3 + 4 = 7.\nThe answer is 7",
     "Rose starts with 3 pens.\nThen 3 + 4 = 8.\nThe answer is 8"),
    ("Largest: which number is it?\nOptions:\n12\n45\n7\n33",
     "Of these, the largest is 45.\nThe answer is 45",
     "Of these, the largest is 33.\nThe answer is 33"),
    ("Alice plays which sport?\nOptions:\ntennis\nchess\ngolf\nrugby",
     "Alice is good at chess.\nThe answer is chess",
     "Alice likes to play golf on the weekend.\nThe answer is golf"),
    ("Bob has 9 coins. Bob loses 2 coins. Then Bob finds 5 more coins. How many coins does Bob have now?",
     "At first Bob has 9 coins.\nSo 9 - 2 = 7.\nThen 7 + 5 = 12.\nThe answer is 12",
     "At first Bob has 9 coins.\nSo 9 - 2 = 6.\nThen 6 + 5 = 11.\nThe answer is 11"),
]


def _dataset():
    return Dataset.from_list([
        {"prompt": [{"role": "user", "content": x}], "chosen": [{"role": "assistant", "content": w}],
         "rejected": [{"role": "assistant", "content": lo}]} for x, w, lo in PAIRS
    ])


def _models(model_dir):
    policy = AutoModelForCausalLM.from_pretrained(model_dir)
    ref = AutoModelForCausalLM.from_pretrained(model_dir)
    torch.manual_seed(1)
    with torch.no_grad():  # make the policy differ from the reference
        for p in policy.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return policy, ref


def _common(tmp_path):
    return dict(output_dir=str(tmp_path), beta=BETA, per_device_train_batch_size=len(PAIRS), report_to="none",
                use_cpu=True, bf16=False, gradient_checkpointing=False, max_length=128, save_strategy="no")


def _bmc_trainer(tmp_path, model_dir, tokenizer, delta, reference_weights="reference", precompute=False, **kw):
    policy, ref = _models(model_dir)
    args = BMCConfig(**_common(tmp_path), bmc_delta=delta, bmc_reference_weights=reference_weights,
                     bmc_stopwords=["the", "is", "at", "on"], precompute_ref_log_probs=precompute, **kw)
    return BMCDPOTrainer(policy, ref_model=ref, args=args, train_dataset=_dataset(), processing_class=tokenizer)


def _batch(trainer):
    return trainer.data_collator([trainer.train_dataset[i] for i in range(len(trainer.train_dataset))])


def paper_bmc_loss(policy, ref, batch, beta, delta, reference_weights):
    """Eq. 4-6 of the paper written out on full logits, as the official code applies them:
    weight 1 + min(sg(1/p), delta) on difference tokens, the reference weighted by its own
    probabilities ('reference') or by the policy's weights ('policy')."""
    ids, attention = batch["input_ids"], batch["attention_mask"]
    completion = batch["completion_mask"][:, 1:].float()
    marked = batch["bmc_mask"][:, 1:].bool()

    def token_logps(model):
        logits = model(input_ids=ids, attention_mask=attention).logits[:, :-1].float()
        return torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:, None]).squeeze(-1)

    def weights(logps):
        inv_p = 1.0 / torch.exp(logps.detach())
        return torch.where(marked, 1.0 + torch.minimum(inv_p, torch.tensor(delta)), torch.ones_like(logps))

    pol = token_logps(policy)
    with torch.no_grad():
        ref_lp = token_logps(ref)
    w_pol = weights(pol)
    w_ref = w_pol if reference_weights == "policy" else weights(ref_lp)
    seq_pol = (w_pol * pol * completion).sum(dim=1)
    seq_ref = (w_ref * ref_lp * completion).sum(dim=1)
    pc, pr = seq_pol.chunk(2)
    rc, rr = seq_ref.chunk(2)
    return -F.logsigmoid(beta * ((pc - rc) - (pr - rr))).mean()


def _grads(model):
    return {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("reference_weights", ["reference", "policy"])
@pytest.mark.parametrize("delta", [0.5, 3.0])
def test_bmc_equals_paper_formula(tmp_path, model_dir, tokenizer, delta, reference_weights):
    trainer = _bmc_trainer(tmp_path, model_dir, tokenizer, delta, reference_weights)
    batch = _batch(trainer)
    assert batch["bmc_mask"].sum() > 0, "the hand-made pairs must have difference tokens"

    loss = trainer.compute_loss(trainer.model, batch)
    loss.backward()
    got = _grads(trainer.model)

    policy, ref = _models(model_dir)
    expected = paper_bmc_loss(policy, ref, batch, BETA, delta, reference_weights)
    expected.backward()
    want = _grads(policy)

    assert loss.item() == pytest.approx(expected.item(), abs=1e-5)
    assert got.keys() == want.keys()
    for name in want:
        torch.testing.assert_close(got[name], want[name], atol=1e-6, rtol=1e-4, msg=name)


def test_bmc_weights_change_the_loss(tmp_path, model_dir, tokenizer):
    t0 = _bmc_trainer(tmp_path / "a", model_dir, tokenizer, 0.0)
    t3 = _bmc_trainer(tmp_path / "b", model_dir, tokenizer, 3.0)
    l0 = t0.compute_loss(t0.model, _batch(t0)).item()
    l3 = t3.compute_loss(t3.model, _batch(t3)).item()
    assert abs(l0 - l3) > 1e-4


def test_delta_zero_equals_trl_dpo(tmp_path, model_dir, tokenizer):
    bmc = _bmc_trainer(tmp_path / "bmc", model_dir, tokenizer, 0.0)
    bmc_batch = _batch(bmc)
    bmc_loss = bmc.compute_loss(bmc.model, bmc_batch)
    bmc_loss.backward()

    policy, ref = _models(model_dir)
    dpo = DPOTrainer(policy, ref_model=ref, args=DPOConfig(**_common(tmp_path / "dpo")), train_dataset=_dataset(),
                     processing_class=tokenizer)
    dpo_batch = _batch(dpo)
    assert torch.equal(dpo_batch["input_ids"], bmc_batch["input_ids"])
    dpo_loss = dpo.compute_loss(dpo.model, dpo_batch)
    dpo_loss.backward()

    assert bmc_loss.item() == pytest.approx(dpo_loss.item(), abs=1e-7)
    want = _grads(dpo.model)
    for name, g in _grads(bmc.model).items():
        torch.testing.assert_close(g, want[name], atol=1e-7, rtol=1e-6, msg=name)


@pytest.mark.parametrize("scope,column", [("per_batch", "ref_token_logps"), ("per_forward", "ref_token_logps"),
                                          ("per_pair", "ref_chosen_logps")])
def test_precomputed_reference_equals_live_reference(tmp_path, model_dir, tokenizer, scope, column):
    """The reference pass batches the pairs one by one (precompute_ref_batch_size 1: other padding, so other
    official marks than the training batch's); the step still weights the reference terms with the training
    batch's marks, as a reference forward in the step would."""
    live = _bmc_trainer(tmp_path / "live", model_dir, tokenizer, 3.0, bmc_mask_scope=scope)
    pre = _bmc_trainer(tmp_path / "pre", model_dir, tokenizer, 3.0, precompute=True, bmc_mask_scope=scope,
                       precompute_ref_batch_size=1)
    pre_batch = _batch(pre)
    assert column in pre_batch
    assert pre.compute_loss(pre.model, pre_batch).item() == pytest.approx(
        live.compute_loss(live.model, _batch(live)).item(), abs=1e-5)


def test_policy_weights_cannot_be_precomputed(tmp_path):
    with pytest.raises(ValueError, match="precompute_ref_log_probs"):
        BMCConfig(**_common(tmp_path), bmc_delta=1.0, bmc_reference_weights="policy", precompute_ref_log_probs=True)


def test_config_rejects_bad_values(tmp_path):
    with pytest.raises(ValueError, match="bmc_delta"):
        BMCConfig(**_common(tmp_path), bmc_delta=-1.0)
    with pytest.raises(ValueError, match="bmc_stopword_rule"):
        BMCConfig(**_common(tmp_path), bmc_stopword_rule="nltk")


def test_mask_never_reaches_the_model(tmp_path, model_dir, tokenizer):
    trainer = _bmc_trainer(tmp_path, model_dir, tokenizer, 3.0)
    seen = []
    trainer.model.register_forward_pre_hook(lambda m, a, kw: seen.append(sorted(kw)), with_kwargs=True)
    trainer.compute_loss(trainer.model, _batch(trainer))
    assert seen and all("bmc_mask" not in kw for kw in seen)


def test_a_forward_that_bypasses_the_hook_is_an_error(tmp_path, model_dir, tokenizer):
    trainer = _bmc_trainer(tmp_path, model_dir, tokenizer, 3.0)
    trainer._ensure_hooks = lambda: None  # as if the hook sat on a module the trainer never calls
    with pytest.raises(RuntimeError, match="not applied"):
        trainer.compute_loss(trainer.model, _batch(trainer))


def test_training_steps_run_and_log_marked_fraction(tmp_path, model_dir, tokenizer):
    trainer = _bmc_trainer(tmp_path, model_dir, tokenizer, 2.0)
    trainer.args.max_steps = 2
    trainer.args.logging_steps = 1
    trainer.train()
    logged = [h for h in trainer.state.log_history if "bmc/marked_fraction" in h]
    assert logged and 0 < logged[0]["bmc/marked_fraction"] < 1

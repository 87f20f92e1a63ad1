"""Every loss of the method grid against an independent formula on full logits (loss and gradients),
and the losses TRL has in other trainers (SimPO in CPOTrainer, ORPO in ORPOTrainer) against TRL's code."""

from __future__ import annotations

import types

import pytest
import torch
import torch.nn.functional as F
from test_bmc_loss import BETA, _batch, _dataset, _grads, _models

from bmc.training import losses as L
from bmc.training.masks import batch_masks, stopword_token_ids
from bmc.training.trainer import BMCConfig, BMCDPOTrainer

STOP = ["the", "is", "at", "on"]


def trainer_for(tmp_path, model_dir, tokenizer, loss_type, delta=0.0, **kw):
    policy, ref = _models(model_dir)
    args = BMCConfig(output_dir=str(tmp_path), beta=BETA, per_device_train_batch_size=4, report_to="none",
                     use_cpu=True, bf16=False, gradient_checkpointing=False, max_length=128, save_strategy="no",
                     loss_type=loss_type, bmc_delta=delta, bmc_stopwords=STOP, **kw)
    return BMCDPOTrainer(policy, ref_model=ref, args=args, train_dataset=_dataset(), processing_class=tokenizer)


def full_logps(model, batch):
    """(B, T-1, V) next-token log-distributions and (B, T-1) log-probs of the actual tokens."""
    ids = batch["input_ids"]
    logp_all = torch.log_softmax(model(input_ids=ids, attention_mask=batch["attention_mask"]).logits[:, :-1].float(), -1)
    return logp_all, logp_all.gather(-1, ids[:, 1:, None]).squeeze(-1)


def weights(lp, mask, delta):
    return torch.where(mask.bool(), 1.0 + torch.minimum(1.0 / torch.exp(lp.detach()), torch.tensor(delta)),
                       torch.ones_like(lp))


def formula(loss_type, policy, ref, batch, delta, cfg):
    """The losses written out from their papers' equations (and the official BMC weighting)."""
    comp = batch["completion_mask"][:, 1:].float()
    mask = batch["bmc_mask"][:, 1:]
    n = comp.shape[0] // 2
    logp_all, lp = full_logps(policy, batch)
    w = weights(lp, mask, delta)
    seq = (w * lp * comp).sum(1)
    length = comp.sum(1)
    with torch.no_grad():
        ref_all, ref_lp = full_logps(ref, batch)
    ref_seq = (weights(ref_lp, mask, delta) * ref_lp * comp).sum(1)
    if loss_type == "rdpo":
        z = BETA * ((seq[:n] - ref_seq[:n]) - (seq[n:] - ref_seq[n:])) - cfg["rdpo_alpha"] * (length[:n] - length[n:])
        return -F.logsigmoid(z).mean()
    if loss_type == "simpo":
        avg = seq / length
        return -F.logsigmoid(BETA * avg[:n] - BETA * avg[n:] - cfg["simpo_gamma"]).mean()
    if loss_type == "orpo":
        avg = seq / length
        p_w, p_l = avg[:n].exp(), avg[n:].exp()
        odds = torch.log(p_w / (1 - p_w)) - torch.log(p_l / (1 - p_l))
        tokens = batch["attention_mask"][:, 1:].float() if cfg.get("orpo_nll") == "full" else comp
        nll = -(lp[:n] * tokens[:n]).sum() / tokens[:n].sum()
        return (nll - cfg["orpo_lambda"] * F.logsigmoid(odds)).mean()
    if loss_type == "tdpo":
        kl = (ref_all.exp() * (ref_all - logp_all)).sum(-1)
        seq_kl = (kl * comp).sum(1)
        u = ((w * lp - weights(ref_lp, mask, delta) * ref_lp) * comp).sum(1)
        z = BETA * (u[:n] - u[n:]) - cfg["tdpo_alpha"] * (BETA * seq_kl[n:] - (BETA * seq_kl[:n]).detach())
        return -F.logsigmoid(z).mean()
    if loss_type == "figa":
        diff = (lp * mask * comp).sum(1)
        return (-cfg["figa_alpha"] * diff[:n] + cfg["figa_beta"] * diff[n:]).mean()
    if loss_type == "ipo":  # IPO (Azar et al., Eq. 17) with TRL's per-token normalisation
        ratio = (seq - ref_seq) / length
        return ((ratio[:n] - ratio[n:] - 1 / (2 * BETA)) ** 2).mean()
    raise ValueError(loss_type)


CFG = {"rdpo_alpha": 0.07, "simpo_gamma": 0.3, "orpo_lambda": 0.8, "tdpo_alpha": 0.4, "figa_alpha": 1.2,
       "figa_beta": 0.6}
CASES = [("rdpo", 0.0), ("rdpo", 3.0), ("simpo", 0.0), ("simpo", 2.0), ("orpo", 0.0), ("orpo", 2.5),
         ("orpo_full", 2.5), ("tdpo", 0.0), ("tdpo", 3.0), ("figa", 0.0), ("ipo", 0.0), ("ipo", 3.0)]


@pytest.mark.parametrize("loss_type,delta", CASES)
def test_loss_and_gradients_equal_the_formula(tmp_path, model_dir, tokenizer, loss_type, delta):
    cfg = dict(CFG, orpo_nll="full") if loss_type == "orpo_full" else CFG
    loss_type = loss_type.removesuffix("_full")
    trainer = trainer_for(tmp_path, model_dir, tokenizer, loss_type, delta, **cfg)
    batch = _batch(trainer)
    loss = trainer.compute_loss(trainer.model, batch)
    loss.backward()
    policy, ref = _models(model_dir)
    expected = formula(loss_type, policy, ref, batch, delta, cfg)
    expected.backward()
    assert loss.item() == pytest.approx(expected.item(), rel=1e-4, abs=1e-5)
    want = _grads(policy)
    for name, g in _grads(trainer.model).items():
        torch.testing.assert_close(g, want[name], atol=1e-5, rtol=1e-3, msg=name)


def _trl_self(**attrs):
    return types.SimpleNamespace(accelerator=types.SimpleNamespace(device=torch.device("cpu")), **attrs)


def test_simpo_equals_trl_cpo():
    from trl.experimental.cpo import CPOTrainer

    c, r = torch.tensor([-0.5, -1.2, -0.1]), torch.tensor([-0.9, -0.4, -2.0])
    trl_self = _trl_self(alpha=0.0, beta=2.0, simpo_gamma=0.5, label_smoothing=0.0, loss_type="simpo")
    trl_losses, _, _ = CPOTrainer.cpo_loss(trl_self, c, r)
    torch.testing.assert_close(L.simpo_loss(c, r, beta=2.0, gamma=0.5), trl_losses)


def test_orpo_equals_trl_orpo():
    from trl.experimental.orpo import ORPOTrainer

    c, r = torch.tensor([-0.5, -1.2, -0.1]), torch.tensor([-0.9, -0.4, -2.0])
    nll = torch.tensor(1.7)
    ratio_losses, *_ = ORPOTrainer.odds_ratio_loss(_trl_self(beta=0.3), c, r)
    trl_loss = nll - ratio_losses.mean()  # ORPOTrainer.get_batch_loss_metrics
    assert L.orpo_loss(c, r, nll, lam=0.3).mean().item() == pytest.approx(trl_loss.item(), rel=1e-6)


def test_losses_without_a_bmc_variant_refuse_delta(tmp_path):
    with pytest.raises(ValueError, match="no BMC variant"):  # the official figa branch ignores its delta
        BMCConfig(output_dir=str(tmp_path), loss_type="figa", bmc_delta=1.0)
    with pytest.raises(ValueError, match="precompute_ref_log_probs is not possible"):
        BMCConfig(output_dir=str(tmp_path), loss_type="tdpo", precompute_ref_log_probs=True)


@pytest.mark.parametrize("scope_loss", ["sigmoid", "simpo"])
@pytest.mark.parametrize("scope", ["per_batch", "per_forward"])
def test_official_per_batch_masks(tmp_path, model_dir, tokenizer, scope_loss, scope):
    """The official marks (the padded batch): computed once in the collator (per_batch, default) or recomputed in
    every forward (per_forward) give the same loss."""
    trainer = trainer_for(tmp_path, model_dir, tokenizer, scope_loss, 3.0, bmc_mask_scope=scope, **CFG)
    batch = _batch(trainer)
    loss = trainer.compute_loss(trainer.model, batch).item()
    official = {k: v for k, v in batch.items() if k != "bmc_mask"}
    stop = stopword_token_ids(tokenizer, STOP)
    official["bmc_mask"] = batch_masks(batch["input_ids"], batch["completion_mask"], stop)
    policy, ref = _models(model_dir)
    if scope_loss == "simpo":
        expected = formula("simpo", policy, ref, official, 3.0, CFG).item()
    else:
        from test_bmc_loss import paper_bmc_loss
        expected = paper_bmc_loss(policy, ref, official, BETA, 3.0, "reference").item()
    assert loss == pytest.approx(expected, abs=1e-5)


def test_levenshtein_masks_train(tmp_path, model_dir, tokenizer):
    trainer = trainer_for(tmp_path, model_dir, tokenizer, "sigmoid", 2.0, bmc_mask_algorithm="levenshtein")
    batch = _batch(trainer)
    assert batch["bmc_mask"].sum() > 0
    assert torch.isfinite(trainer.compute_loss(trainer.model, batch))

"""Preference losses that TRL 1.16's ``DPOTrainer`` does not have, as pure functions of sequence statistics: the
baselines of the paper's Table 5 (R-DPO, SimPO, ORPO, TDPO, FIGA).

Each returns one loss per pair (shape ``(B,)``); the trainer averages them. Log-probabilities are sums over
the completion tokens (BMC-weighted when the method has BMC weights) unless the name says ``avg``
(the sum divided by the number of completion tokens). DPO (``sigmoid``) and IPO (``ipo``) are TRL's own.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from bmc.settings import CUSTOM_LOSSES, LossSpec  # noqa: F401  (re-exported)


def rdpo_loss(chosen_logratios, rejected_logratios, chosen_len, rejected_len, beta: float, alpha: float):
    """R-DPO (Park et al. 2024, Eq. 9): DPO with a length regulariser,
    ``-log σ(β·(log π/π_ref)(y_w) − β·(log π/π_ref)(y_l) − α·(|y_w| − |y_l|))``.
    The official BMC code ties α to β (``β·(logits − (|y_w| − |y_l|))``); here α is its own setting."""
    margin = beta * (chosen_logratios - rejected_logratios) - alpha * (chosen_len - rejected_len)
    return -F.logsigmoid(margin)


def simpo_loss(chosen_avg_logps, rejected_avg_logps, beta: float, gamma: float):
    """SimPO (Meng et al. 2024, Eq. 6), reference-free and length-normalised:
    ``-log σ(β·avg log π(y_w) − β·avg log π(y_l) − γ)`` (TRL's CPO ``loss_type="simpo"``, ``cpo_alpha=0``)."""
    return -F.logsigmoid(beta * (chosen_avg_logps - rejected_avg_logps) - gamma)


def _log1mexp(x):
    """log(1 − exp(x)) for x < 0, numerically stable."""
    return torch.where(x > -0.6931472, torch.log(-torch.expm1(x)), torch.log1p(-torch.exp(x)))


def orpo_loss(chosen_avg_logps, rejected_avg_logps, chosen_nll, lam: float):
    """ORPO (Hong et al. 2024, Eq. 6-7): ``NLL(y_w) − λ·log σ(log odds(y_w) − log odds(y_l))`` with
    ``log odds(y) = avg log p − log(1 − exp(avg log p))``. ``chosen_nll`` is the token-mean negative
    log-likelihood of the chosen sequences (a scalar, as in TRL's ORPOTrainer, prompt tokens included)."""
    c, r = chosen_avg_logps.float(), rejected_avg_logps.float()
    log_odds = (c - r) - (_log1mexp(c) - _log1mexp(r))
    return chosen_nll - lam * F.logsigmoid(log_odds)


def tdpo_loss(chosen_logratios, rejected_logratios, chosen_seq_kl, rejected_seq_kl, beta: float, alpha: float):
    """TDPO2 (Zeng et al. 2024, Eq. 23): ``-log σ(β·Δlogratio − α·(β·D_SeqKL(y_l) − sg(β·D_SeqKL(y_w))))`` with
    ``D_SeqKL(x, y) = Σ_t KL(π_ref(·|x, y<t) ‖ π_θ(·|x, y<t))`` (the official BMC code fixes α = 0.5)."""
    u = chosen_logratios - rejected_logratios
    return -F.logsigmoid(beta * u - alpha * beta * (rejected_seq_kl - chosen_seq_kl.detach()))


def figa_loss(chosen_diff_logps, rejected_diff_logps, alpha: float, beta: float):
    """FIGA (Guo et al. 2024) as the official BMC code implements it: raise the log-probability of the
    tokens that differ in y_w and lower it for those in y_l,
    ``−α·Σ_diff log π(y_w) + β·Σ_diff log π(y_l)`` (official: α = 1, β = 0.5); no reference model."""
    return -alpha * chosen_diff_logps + beta * rejected_diff_logps


TRL_LOSSES = {"sigmoid": "DPO", "ipo": "IPO"}

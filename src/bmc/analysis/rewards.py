"""Implicit rewards of a trained policy π_θ against its reference model π_ref (the SFT model): the paper's
reward analyses (Table 4's reward accuracy, Figure 4's KL, Figure 6's token rewards).

The quantities of the paper's analyses (§3.7 / Table 4, Figure 4, Figure 6), all from plain, unweighted
log-probabilities of response tokens (no BMC weights: they measure the models, not the training objective):

* token reward          β · (log π_θ(y_t | x, y_<t) − log π_ref(y_t | x, y_<t))                 (Figure 6)
* sequence reward       r(x, y) = Σ_t token reward (DPO's implicit reward)
* reward margin         r(x, y_w) − r(x, y_l); reward accuracy = share of pairs with margin > 0   (Table 4)
* KL(π_ref ‖ π_θ)       Σ_v π_ref(v | ·) (log π_ref(v | ·) − log π_θ(v | ·)) at each response position, over
                        the full vocabulary, averaged over the response tokens                    (Figure 4)

Sequences are tokenized as TRL's ``DPOTrainer`` tokenizes a conversational preference example (prompt with
the chat template's generation prompt; prompt + response; the response starts where the two token lists
diverge), then truncated to ``max_length`` (keep the start) as its collator does, so a reward here is the
one the training objective sees (tested against the trainer's own tokenization and logged rewards).

The official trainer logs a KL metric every step (``F.kl_div(log π_θ, π_ref)`` summed over the vocabulary
and then averaged over *all* positions of the padded batch, prompt and padding included, which scale it
down by an amount that depends on the batch); here the average runs over response tokens only.
:class:`HeldoutKLCallback` measures it on a fixed held-out set every N steps during training.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import pandas as pd
import torch
from transformers import TrainerCallback
from trl.data_utils import common_prefix_length

from bmc.io import RecordError

log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------------------------- tokenization
def _chat_ids(tokenizer, messages: list[dict], **kwargs) -> list[int]:
    return list(tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True, **kwargs)["input_ids"])


def tokenize_pair(tokenizer, problem: str, chosen: str, rejected: str) -> tuple[list[int], list[int], list[int]]:
    """``(prompt_ids, chosen_ids, rejected_ids)`` exactly as TRL's DPOTrainer tokenizes the conversational
    example ``{prompt: [user], chosen: [assistant], rejected: [assistant]}`` (see bmc.training.preference)."""
    prompt = [{"role": "user", "content": problem}]
    prompt_ids = _chat_ids(tokenizer, prompt, add_generation_prompt=True)
    with_chosen = _chat_ids(tokenizer, prompt + [{"role": "assistant", "content": chosen}])
    with_rejected = _chat_ids(tokenizer, prompt + [{"role": "assistant", "content": rejected}])
    n = min(common_prefix_length(prompt_ids, with_chosen), common_prefix_length(prompt_ids, with_rejected))
    return prompt_ids[:n], with_chosen[n:], with_rejected[n:]


def tokenize_response(tokenizer, problem: str, response: str) -> tuple[list[int], list[int]]:
    """``(prompt_ids, response_ids)`` of one response, by the same rule as :func:`tokenize_pair`."""
    prompt = [{"role": "user", "content": problem}]
    prompt_ids = _chat_ids(tokenizer, prompt, add_generation_prompt=True)
    full = _chat_ids(tokenizer, prompt + [{"role": "assistant", "content": response}])
    n = common_prefix_length(prompt_ids, full)
    return prompt_ids[:n], full[n:]


# ----------------------------------------------------------------------------------------------- scoring
@dataclass
class SequenceScore:
    """Per response token (after truncation to ``max_length``): its id, log π_θ, log π_ref and, if asked
    for, KL(π_ref ‖ π_θ) of the next-token distributions that predict it."""

    token_ids: list[int]
    policy_logps: torch.Tensor
    ref_logps: torch.Tensor
    kl: torch.Tensor | None = None

    def token_rewards(self, beta: float) -> torch.Tensor:
        return beta * (self.policy_logps - self.ref_logps)

    def reward(self, beta: float) -> float:
        return float(self.token_rewards(beta).sum())


def _device_of(model) -> torch.device:
    return next(model.parameters()).device


def _log_probs(model, ids: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
    logits = model(input_ids=ids, attention_mask=attention, use_cache=False).logits
    return torch.log_softmax(logits[:, :-1].float(), dim=-1)


@torch.no_grad()
def score(policy, reference, sequences: list[tuple[list[int], list[int]]], max_length: int | None = None,
          batch_size: int = 16, pad_token_id: int = 0, kl: bool = False) -> list[SequenceScore]:
    """Score ``(prompt_ids, response_ids)`` sequences under both models, batched (sorted by length, right
    padded). Returns one :class:`SequenceScore` per sequence, in the given order."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    full, masks = [], []
    for prompt_ids, response_ids in sequences:
        ids = list(prompt_ids) + list(response_ids)
        mask = [0] * len(prompt_ids) + [1] * len(response_ids)
        if max_length is not None:  # TRL's collator, truncation_mode "keep_start"
            ids, mask = ids[:max_length], mask[:max_length]
        full.append(ids)
        masks.append(mask)
    out: list[SequenceScore | None] = [None] * len(full)
    order = sorted(range(len(full)), key=lambda i: len(full[i]))
    device = _device_of(policy)
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        width = max(len(full[i]) for i in idx)
        ids = torch.full((len(idx), width), pad_token_id, dtype=torch.long)
        attention = torch.zeros((len(idx), width), dtype=torch.long)
        for row, i in enumerate(idx):
            ids[row, :len(full[i])] = torch.tensor(full[i])
            attention[row, :len(full[i])] = 1
        ids, attention = ids.to(device), attention.to(device)
        lp_policy = _log_probs(policy, ids, attention)
        lp_ref = _log_probs(reference, ids.to(_device_of(reference)), attention.to(_device_of(reference))).to(device)
        target = ids[:, 1:, None]
        tok_policy = lp_policy.gather(-1, target).squeeze(-1).cpu()
        tok_ref = lp_ref.gather(-1, target).squeeze(-1).cpu()
        kl_t = (lp_ref.exp() * (lp_ref - lp_policy)).sum(-1).cpu() if kl else None
        for row, i in enumerate(idx):
            keep = torch.tensor(masks[i][1:], dtype=torch.bool)  # position t predicts token t + 1
            n = keep.numel()
            out[i] = SequenceScore(
                token_ids=[t for t, m in zip(full[i][1:], masks[i][1:]) if m],
                policy_logps=tok_policy[row, :n][keep], ref_logps=tok_ref[row, :n][keep],
                kl=kl_t[row, :n][keep] if kl else None)
    return out  # type: ignore[return-value]


def pad_id(tokenizer) -> int:
    """The padding id TRL's trainers use: the pad token, else EOS."""
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


# ----------------------------------------------------------------------------------------------- pairs (Table 4)
def pair_rewards(policy, reference, tokenizer, pairs: list[dict], chosen_key: str, rejected_key: str, beta: float,
                 max_length: int | None = None, batch_size: int = 16, path: str = "<pairs>") -> list[dict]:
    """Sequence rewards of each pair's chosen and rejected response and their margin. A response with no token
    left within ``max_length`` fails naming the file, row and field (training would have dropped the pair)."""
    tokenized = [tokenize_pair(tokenizer, p["problem"], p[chosen_key], p[rejected_key]) for p in pairs]
    seqs = [(pr, c) for pr, c, _ in tokenized] + [(pr, r) for pr, _, r in tokenized]
    scored = score(policy, reference, seqs, max_length, batch_size, pad_id(tokenizer))
    n = len(pairs)
    rows = []
    for k, p in enumerate(pairs):
        c, r = scored[k], scored[n + k]
        for s, key in ((c, chosen_key), (r, rejected_key)):
            if not s.token_ids:
                raise RecordError(path, k + 1, key, f"no response token within max_length {max_length} (the prompt "
                                  "fills it); raise max_length")
        rc, rr = c.reward(beta), r.reward(beta)
        rows.append({"id": p.get("id", str(k)), "chosen_reward": rc, "rejected_reward": rr, "margin": rc - rr,
                     "chosen_tokens": len(c.token_ids), "rejected_tokens": len(r.token_ids)})
    return rows


def reward_summary(rows: list[dict]) -> dict:
    """Mean margin, reward accuracy (share of pairs with margin > 0; a tie counts as wrong), and spread."""
    n = len(rows)
    if n == 0:
        raise ValueError("no pairs to summarise")
    margins = [r["margin"] for r in rows]
    mean = sum(margins) / n
    sd = math.sqrt(sum((m - mean) ** 2 for m in margins) / (n - 1)) if n > 1 else 0.0
    return {
        "n": n,
        "margin_mean": mean,
        "margin_sem": sd / math.sqrt(n),
        "accuracy": sum(m > 0 for m in margins) / n,
        "ties": sum(m == 0 for m in margins),
        "chosen_reward_mean": sum(r["chosen_reward"] for r in rows) / n,
        "rejected_reward_mean": sum(r["rejected_reward"] for r in rows) / n,
    }


# ----------------------------------------------------------------------------------------------- KL (Figure 4)
def kl_summary(scores: list[SequenceScore]) -> dict:
    """KL(π_ref ‖ π_θ) averaged over all response tokens (``kl``) and the mean per-response sum
    (``kl_sequence``)."""
    tokens = sum(s.kl.numel() for s in scores)
    if tokens == 0:
        raise ValueError("no response tokens to measure KL on")
    total = sum(float(s.kl.sum()) for s in scores)
    return {"kl": total / tokens, "kl_sequence": total / len(scores), "tokens": tokens, "responses": len(scores)}


def heldout_kl(policy, reference, tokenizer, examples: list[dict], response_key: str = "y_w",
               max_length: int | None = None, batch_size: int = 16) -> dict:
    seqs = [tokenize_response(tokenizer, e["problem"], e[response_key]) for e in examples]
    return kl_summary(score(policy, reference, seqs, max_length, batch_size, pad_id(tokenizer), kl=True))


class HeldoutKLCallback(TrainerCallback):
    """Measures KL(π_ref ‖ π_θ) on fixed held-out chosen responses at the start of training, every
    ``every_steps`` optimizer steps and at the end, and appends ``{"step", "heldout_kl", ...}`` to the
    trainer's ``log_history`` (so it is saved in checkpoints and survives a resume). No gradient, no random
    numbers: the trained model is the same with or without it (tested)."""

    def __init__(self, reference, tokenizer, examples: list[dict], every_steps: int, max_length: int | None = None,
                 batch_size: int = 16):
        if every_steps < 1:
            raise ValueError(f"every_steps must be positive, got {every_steps}")
        if not examples:
            raise ValueError("no held-out chosen responses to measure KL on")
        self.reference = reference
        self.sequences = [tokenize_response(tokenizer, e["problem"], e["y_w"]) for e in examples]
        self.every_steps, self.max_length, self.batch_size = every_steps, max_length, batch_size
        self.pad_token_id = pad_id(tokenizer)
        self.seconds = 0.0

    def _measure(self, model, state) -> None:
        step = state.global_step
        if any("heldout_kl" in h and h.get("step") == step for h in state.log_history):
            return  # already measured (a resumed run starts where its checkpoint was saved)
        start = time.perf_counter()
        was_training = model.training
        model.eval()
        try:
            stats = kl_summary(score(model, self.reference, self.sequences, self.max_length, self.batch_size,
                                     self.pad_token_id, kl=True))
        finally:
            model.train(was_training)
        seconds = time.perf_counter() - start
        self.seconds += seconds
        state.log_history.append({"heldout_kl": stats["kl"], "heldout_kl_sequence": stats["kl_sequence"],
                                  "heldout_kl_tokens": stats["tokens"], "heldout_kl_seconds": round(seconds, 3),
                                  "step": step})
        log.info("step %d: held-out KL(ref || policy) %.6g per token", step, stats["kl"])

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self._measure(model, state)

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step % self.every_steps == 0:
            self._measure(model, state)

    def on_train_end(self, args, state, control, model=None, **kwargs):
        self._measure(model, state)


def kl_history(log_history: list[dict]) -> list[dict]:
    """The held-out KL records of a training log, by step."""
    return sorted(({"step": h["step"], "kl": h["heldout_kl"], "kl_sequence": h["heldout_kl_sequence"]}
                   for h in log_history if "heldout_kl" in h), key=lambda r: r["step"])


# ----------------------------------------------------------------------------------------------- token rewards (Figure 6)
def token_rewards(policy, reference, tokenizer, pair: dict, chosen_key: str, rejected_key: str, beta: float,
                  max_length: int | None = None) -> dict:
    """Per-token rewards of one pair's chosen and rejected responses: ``{"chosen": {token_ids, rewards},
    "rejected": {...}}``."""
    prompt_ids, chosen_ids, rejected_ids = tokenize_pair(tokenizer, pair["problem"], pair[chosen_key],
                                                         pair[rejected_key])
    c, r = score(policy, reference, [(prompt_ids, chosen_ids), (prompt_ids, rejected_ids)], max_length,
                 pad_token_id=pad_id(tokenizer))
    return {"chosen": {"token_ids": c.token_ids, "rewards": c.token_rewards(beta).tolist()},
            "rejected": {"token_ids": r.token_ids, "rewards": r.token_rewards(beta).tolist()}}


def marked_token_rewards(policy, reference, tokenizer, pairs: list[dict], chosen_key: str, rejected_key: str,
                         beta: float, marks, max_length: int | None = None, batch_size: int = 16) -> list[dict]:
    """Per pair: each response token's reward β·log(π_θ/π_ref) and its difference mark, for the chosen and the
    rejected response. ``marks(prompt_ids, chosen_ids, rejected_ids)`` gives the 0/1 marks of the completion
    tokens (the rule passes the official marks of the pair alone, :func:`bmc.training.masks.diff_masks`); they are
    cut like the tokens at ``max_length``."""
    tokenized = [tokenize_pair(tokenizer, p["problem"], p[chosen_key], p[rejected_key]) for p in pairs]
    seqs = [(pr, c) for pr, c, _ in tokenized] + [(pr, r) for pr, _, r in tokenized]
    scored = score(policy, reference, seqs, max_length, batch_size, pad_id(tokenizer))
    n, rows = len(pairs), []
    for k, (p, (prompt, chosen, rejected)) in enumerate(zip(pairs, tokenized)):
        marked = marks(prompt, chosen, rejected)
        row = {"id": p.get("id", str(k))}
        for side, s, m in (("chosen", scored[k], marked[0]), ("rejected", scored[n + k], marked[1])):
            row[side] = {"token_ids": s.token_ids, "rewards": s.token_rewards(beta).tolist(),
                         "marks": list(m[:len(s.token_ids)])}
        rows.append(row)
    return rows


def mark_summary(rows: list[dict]) -> dict:
    """Mean token reward over the marked and the unmarked tokens of the chosen and of the rejected responses of
    all pairs (pooled over tokens), with the token counts: the mechanism BMC targets (paper Figure 6)."""
    out = {}
    for side in ("chosen", "rejected"):
        for marked, name in ((1, "marked"), (0, "unmarked")):
            values = [r for row in rows for r, m in zip(row[side]["rewards"], row[side]["marks"]) if m == marked]
            out[f"{side}_{name}"] = {"mean": sum(values) / len(values) if values else None, "tokens": len(values)}
    out["pairs"] = len(rows)
    return out


EXAMPLE_RULE = ("among the held-out pairs whose chosen and rejected responses both fit the figure's token limit and "
                "both have marked tokens, the one with the median number of marked tokens (the lower median), the "
                "first in file order among equals")


def median_marked_example(rows: list[dict], max_tokens: int) -> int:
    """The row the ``median`` rule picks (:data:`EXAMPLE_RULE`), from the marks of :func:`marked_token_rewards`."""
    eligible = [(sum(r["chosen"]["marks"]) + sum(r["rejected"]["marks"]), i) for i, r in enumerate(rows)
                if len(r["chosen"]["token_ids"]) <= max_tokens and len(r["rejected"]["token_ids"]) <= max_tokens
                and any(r["chosen"]["marks"]) and any(r["rejected"]["marks"])]
    if not eligible:
        raise ValueError(f"no held-out pair fits {max_tokens} tokens with marked tokens on both sides: set "
                         "analysis.token_rewards.example to a row, or raise max_tokens")
    counts = sorted(c for c, _ in eligible)
    median = counts[(len(counts) - 1) // 2]
    return min(i for c, i in eligible if c == median)


def kl_frame(runs: list[dict]) -> pd.DataFrame:
    """One line per logged KL record of each training run (``result.heldout_kl`` of its run_info.json): task,
    method, step, kl (per token), kl_sequence and the model folder. ``runs``: ``{task, method, run_info, model}``. A run without KL records fails naming
    its model folder (its training had ``kl_every_steps`` 0)."""
    lines = []
    for run in runs:
        history = kl_history(run["run_info"].get("result", {}).get("heldout_kl", []))
        if not history:
            raise ValueError(f"{run['model']}/run_info.json: no held-out KL records (train with "
                             "preference.kl_every_steps > 0)")
        lines += [{"task": run["task"], "method": run["method"], **h, "model": run["model"]} for h in history]
    return pd.DataFrame(lines, columns=["task", "method", "step", "kl", "kl_sequence", "model"])


def token_texts(tokenizer, token_ids: list[int]) -> list[str]:
    """Each token's text for display: the decoded piece, or the tokenizer's own spelling of the token where the
    piece alone is not valid text (a byte-level token holding part of a multi-byte character)."""
    out = []
    for t in token_ids:
        text = tokenizer.decode([t])
        out.append(text if "\ufffd" not in text else tokenizer.convert_ids_to_tokens(t))
    return out

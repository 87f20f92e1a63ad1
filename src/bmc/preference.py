"""Preference training of the paper's method grid on one setup.

A method is (which pairs, which weighting): DPO trains on the original pairs (y_w, y_l) with delta 0;
DPO-BC on the bridged pairs (ỹ_w, y_l) with delta 0; DPO-MC on the original pairs with the BMC weights;
DPO-BMC on the bridged pairs with the BMC weights. Original methods read the main bridged set and use its
(y_w, y_l), so every method trains on the same surviving questions (the paper drops pairs the editor
answered 'None' for all methods of a setup).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer

from bmc.io import model_dir
from bmc.runtime import optimization_args
from bmc.trainer import BMCConfig, BMCDPOTrainer

log = logging.getLogger(__name__)

PAIR_SOURCES = ("original", "bridged")


@dataclass
class MethodSpec:
    """One row of Table 1: which chosen responses, and whether BMC's token weights are on."""

    label: str
    pairs: str        # "original" (chosen = y_w) or "bridged" (chosen = pseudo_winning)
    bmc_weights: bool  # False: delta = 0 (plain DPO loss)

    def __post_init__(self):
        if self.pairs not in PAIR_SOURCES:
            raise ValueError(f"method {self.label!r}: pairs must be one of {PAIR_SOURCES}, got {self.pairs!r}")


@dataclass
class PreferenceSettings:
    beta: float = 0.05
    delta: float = 3.0
    learning_rate: float = 5e-6
    epochs: float = 1.0
    batch_size: int = 8
    gradient_accumulation_steps: int = 1
    max_length: int = 256
    warmup_ratio: float = 0.1
    scheduler: str = "cosine"
    loss_type: str = "sigmoid"
    reference_weights: str = "reference"
    stopwords: list[str] = field(default_factory=list)
    stopword_rule: str = "official"
    precompute_ref_log_probs: bool = False
    seed: int = 42
    precision: str = "fp32"


def preference_dataset(pairs: list[dict], source: str) -> Dataset:
    """Conversational preference examples; the tokenizer's chat template renders them. ``original``:
    (y_w, y_l); ``bridged``: the bridged set's pair, (ỹ_w, y_l) or (y_w, ỹ_l) by direction."""
    chosen_key, rejected_key = ("y_w", "y_l") if source == "original" else ("bridged_chosen", "bridged_rejected")
    return Dataset.from_list([
        {"prompt": [{"role": "user", "content": p["problem"]}],
         "chosen": [{"role": "assistant", "content": p[chosen_key]}],
         "rejected": [{"role": "assistant", "content": p[rejected_key]}]}
        for p in pairs
    ])


def train_preference(sft_dir: str | Path, pairs: list[dict], method: MethodSpec, settings: PreferenceSettings,
                     out_dir: str | Path) -> dict:
    tokenizer = AutoTokenizer.from_pretrained(sft_dir)
    model = AutoModelForCausalLM.from_pretrained(sft_dir)
    ref_model = AutoModelForCausalLM.from_pretrained(sft_dir)
    dataset = preference_dataset(pairs, method.pairs)
    delta = settings.delta if method.bmc_weights else 0.0
    with model_dir(out_dir) as (tmp, scratch):
        args = BMCConfig(
            output_dir=str(scratch),
            beta=settings.beta,
            loss_type=settings.loss_type,
            bmc_delta=delta,
            bmc_reference_weights=settings.reference_weights,
            bmc_stopwords=list(settings.stopwords),
            bmc_stopword_rule=settings.stopword_rule,
            gradient_accumulation_steps=settings.gradient_accumulation_steps,
            precompute_ref_log_probs=settings.precompute_ref_log_probs,
            **optimization_args(settings),
        )
        trainer = BMCDPOTrainer(model, ref_model=ref_model, args=args, train_dataset=dataset,
                                processing_class=tokenizer)
        dropped = len(dataset) - len(trainer.train_dataset)
        result = trainer.train()
        trainer.save_model(str(tmp))
        tokenizer.save_pretrained(tmp)
        history = [h for h in trainer.state.log_history if "loss" in h]
    return {
        "method": method.label, "pairs": method.pairs, "bmc_delta": delta, "beta": settings.beta,
        "reference_weights": settings.reference_weights, "stopword_rule": settings.stopword_rule,
        "mask_scope": "per_pair", "examples": len(dataset), "dropped_by_length": dropped,
        "steps": result.global_step, "train_loss": result.training_loss,
        "train_seconds": result.metrics.get("train_runtime"), "log_history": history,
    }

"""Preference training of the paper's method grid on one setup.

A method is (loss, which pairs, BMC weights on or off). Losses: ``sigmoid`` (DPO) and ``ipo`` are TRL's;
``rdpo``, ``simpo``, ``orpo``, ``tdpo``, ``figa`` are :mod:`bmc.training.losses` in the same trainer; ``kto`` is TRL's
``KTOTrainer`` on the pairs unpaired (y_w desirable, y_l undesirable). Pairs: ``original`` (y_w, y_l) or
``bridged`` (the bridged set's pair). BMC weights on = ``delta`` of the setup; off = delta 0. So DPO-BC is
``sigmoid`` on bridged pairs without weights, DPO-BMC ``sigmoid`` on bridged pairs with weights, and
IPO-BMC, ORPO-BMC, R-DPO-BMC, SimPO-BMC (Table 5) the same for their losses. Original methods read the
main bridged set and use its (y_w, y_l), so every method trains on the same surviving questions.

Training is resumable: with a checkpoint folder, the trainer saves a checkpoint every N steps there and a
rerun after a kill continues from the last one.
"""

from __future__ import annotations

import logging
from dataclasses import fields
from pathlib import Path

from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer

from bmc.io import RecordError
from bmc.runtime import optimization_args
from bmc.settings import LOSSES, PAIR_SOURCES, MethodSpec, PreferenceSettings  # noqa: F401
from bmc.training import losses as L
from bmc.training.checkpoints import Checkpointing
from bmc.training.launch import batch_geometry, output_model_dir

log = logging.getLogger(__name__)


def _keys(source: str) -> tuple[str, str]:
    return ("y_w", "y_l") if source == "original" else ("bridged_chosen", "bridged_rejected")


def prompt_messages(pair: dict) -> list[dict]:
    """The conversation before the response: the pair's own turns (a released multi-turn prompt), else its problem
    as the user turn."""
    return pair.get("prompt_messages") or [{"role": "user", "content": pair["problem"]}]


def with_original(pairs: list[dict], source: str) -> tuple[list[dict], int]:
    """The pairs a method can train on: for the original pairs (y_w, y_l), those with a y_w (a released bridged set
    may lack it for prompts no gold response was matched to); the number left out is returned, never silent."""
    if source != "original":
        return pairs, 0
    kept = [p for p in pairs if p.get("y_w")]
    return kept, len(pairs) - len(kept)


def preference_dataset(pairs: list[dict], source: str) -> Dataset:
    """Conversational preference examples; the tokenizer's chat template renders them."""
    chosen, rejected = _keys(source)
    return Dataset.from_list([
        {"prompt": prompt_messages(p),
         "chosen": [{"role": "assistant", "content": p[chosen]}],
         "rejected": [{"role": "assistant", "content": p[rejected]}]}
        for p in pairs
    ])


def unpaired_dataset(pairs: list[dict], source: str) -> Dataset:
    """KTO's format: each pair gives a desirable (chosen) and an undesirable (rejected) example."""
    chosen, rejected = _keys(source)
    rows = []
    for p in pairs:
        prompt = prompt_messages(p)
        rows.append({"prompt": prompt, "completion": [{"role": "assistant", "content": p[chosen]}], "label": True})
        rows.append({"prompt": prompt, "completion": [{"role": "assistant", "content": p[rejected]}], "label": False})
    return Dataset.from_list(rows)


def check_lengths(pairs: list[dict], source: str, tokenizer, max_length: int, long_prompts: str,
                  path: str = "<pairs>") -> tuple[list[dict], dict]:
    """Prompts that fill ``max_length`` leave nothing to learn from (TRL drops them silently): an error naming
    the file, row and field, or (``long_prompts="drop"``) dropped and counted. Pairs whose response is cut by
    ``max_length`` are counted."""
    chosen, rejected = _keys(source)
    kept, dropped, truncated = [], 0, 0
    for row, p in enumerate(pairs, start=1):
        try:
            prompt_ids = tokenizer.apply_chat_template(prompt_messages(p), tokenize=True, add_generation_prompt=True,
                                                       return_dict=True)["input_ids"]
        except Exception as e:  # e.g. a system turn the model's chat template refuses
            field = "prompt_messages" if p.get("prompt_messages") else "problem"
            raise RecordError(path, row, field, f"the chat template cannot render this prompt "
                              f"({type(e).__name__}: {e})") from e
        if len(prompt_ids) >= max_length:
            if long_prompts == "error":
                raise RecordError(path, row, "problem", f"the prompt is {len(prompt_ids)} tokens, which fills "
                                  f"max_length {max_length}; raise max_length or set long_prompts: drop")
            dropped += 1
            continue
        longest = max(len(tokenizer(p[k], add_special_tokens=False)["input_ids"]) for k in (chosen, rejected))
        truncated += len(prompt_ids) + longest + 1 > max_length
        kept.append(p)
    return kept, {"pairs": len(pairs), "dropped_long_prompt": dropped, "truncated_to_max_length": truncated}


def _trainer_args(settings: PreferenceSettings, out: str, ckpt: Checkpointing) -> dict:
    return optimization_args(settings) | ckpt.trainer_args(out) | {
        "beta": settings.beta,
        "gradient_accumulation_steps": batch_geometry(settings, "preference")["gradient_accumulation_steps"]}


def _build_trainer(model, ref_model, tokenizer, pairs, method, settings, delta, out, ckpt):
    if method.loss == "kto":
        from trl import KTOConfig, KTOTrainer

        args = KTOConfig(desirable_weight=settings.kto_desirable_weight,
                         undesirable_weight=settings.kto_undesirable_weight,
                         **_trainer_args(settings, out, ckpt))
        return KTOTrainer(model, ref_model=ref_model, args=args, train_dataset=unpaired_dataset(pairs, method.pairs),
                          processing_class=tokenizer)
    from bmc.training.trainer import BMCConfig, BMCDPOTrainer

    loss_params = {f.name: getattr(settings, f.name) for f in fields(settings)
                   if f.name.split("_")[0] in ("rdpo", "simpo", "orpo", "tdpo", "figa")}
    # reference-free losses: with no reference model given, TRL would load a second copy of the policy;
    # "precomputing" with the policy instead holds none (the values are unused)
    reference_free = ref_model is None
    args = BMCConfig(
        loss_type=method.loss, bmc_delta=delta, bmc_reference_weights=settings.reference_weights,
        bmc_stopwords=list(settings.stopwords), bmc_stopword_rule=settings.stopword_rule,
        bmc_mask_algorithm=settings.mask_algorithm, bmc_mask_scope=settings.mask_scope,
        precompute_ref_log_probs=settings.precompute_ref_log_probs or reference_free, **loss_params,
        **_trainer_args(settings, out, ckpt),
    )
    return BMCDPOTrainer(model, ref_model=ref_model, args=args, train_dataset=preference_dataset(pairs, method.pairs),
                         processing_class=tokenizer)


def _heldout_kl_callback(trainer, sft_dir, tokenizer, settings: PreferenceSettings, heldout_chosen):
    """With ``kl_every_steps``: the callback that logs held-out KL(π_ref ‖ π_θ) (Figure 4) into the trainer's log."""
    if settings.kl_every_steps <= 0:
        return None
    if not heldout_chosen:
        raise ValueError("kl_every_steps is set but no held-out chosen responses were given")
    from bmc.analysis.rewards import HeldoutKLCallback

    reference = getattr(trainer, "ref_model", None)
    if reference is None:  # reference-free losses: the SFT model is still the reference of the KL
        reference = AutoModelForCausalLM.from_pretrained(sft_dir).to(trainer.accelerator.device).eval()
    callback = HeldoutKLCallback(reference, tokenizer, heldout_chosen, settings.kl_every_steps, settings.max_length,
                                 settings.batch_size)
    trainer.add_callback(callback)
    return callback


def train_preference(sft_dir: str | Path, pairs: list[dict], method: MethodSpec, settings: PreferenceSettings,
                     out_dir: str | Path, ckpt: Checkpointing | None = None, pairs_path: str = "<pairs>",
                     heldout_chosen: list[dict] | None = None) -> dict:
    ckpt = ckpt or Checkpointing()
    tokenizer = AutoTokenizer.from_pretrained(sft_dir)
    pairs, length_stats = check_lengths(pairs, method.pairs, tokenizer, settings.max_length, settings.long_prompts,
                                        pairs_path)
    pairs, without_y_w = with_original(pairs, method.pairs)
    if without_y_w:
        log.warning("%s: %d pairs have no original y_w (not matched): %s trains on the other %d", pairs_path,
                    without_y_w, method.label, len(pairs))
    length_stats["dropped_without_original_y_w"] = without_y_w
    if not pairs:
        raise ValueError(f"{pairs_path}: no preference pairs left to train on")
    model = AutoModelForCausalLM.from_pretrained(sft_dir)
    needs_reference = method.loss in ("sigmoid", "ipo", "kto") or L.CUSTOM_LOSSES[method.loss].needs_reference
    ref_model = AutoModelForCausalLM.from_pretrained(sft_dir) if needs_reference else None
    delta = settings.delta if method.bmc_weights else 0.0
    batch = batch_geometry(settings, "preference")
    with output_model_dir(out_dir) as (tmp, scratch):
        trainer = _build_trainer(model, ref_model, tokenizer, pairs, method, settings, delta, scratch, ckpt)
        kl_callback = _heldout_kl_callback(trainer, sft_dir, tokenizer, settings, heldout_chosen)
        result, resumed = ckpt.train(trainer)
        trainer.save_model(str(tmp))
        tokenizer.save_pretrained(tmp)
        history = [h for h in trainer.state.log_history if "loss" in h]
        kl = [h for h in trainer.state.log_history if "heldout_kl" in h]
    ckpt.finish()
    return {
        "method": method.label, "loss": method.loss, "pairs": method.pairs, "bmc_delta": delta,
        "beta": settings.beta, "reference_weights": settings.reference_weights,
        "stopword_rule": settings.stopword_rule, "mask_algorithm": settings.mask_algorithm,
        "mask_scope": settings.mask_scope, "length_checks": length_stats, "examples": len(pairs),
        "resumed_from": resumed, "steps": result.global_step, "train_loss": result.training_loss,
        "train_seconds": result.metrics.get("train_runtime"), "log_history": history, **batch,
        **({"heldout_kl": kl, "heldout_kl_seconds": round(kl_callback.seconds, 3)} if kl_callback else {}),
    }

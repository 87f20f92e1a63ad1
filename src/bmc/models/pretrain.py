"""The tiny study's base model: a small Llama-architecture causal LM pretrained from scratch (a stand-in for the
paper's Llama-2-7B / Mistral-7B base models; no counterpart in the official code).

It stands in for Llama-2-7B-base: same architecture family, same tokenizer conventions (BOS prepended,
EOS closes a document), trained with transformers' ``Trainer`` on packed blocks of the synthetic corpus.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from datasets import Dataset
from transformers import (
    DataCollatorForLanguageModeling,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerBase,
    Trainer,
    TrainingArguments,
)

from bmc.io import model_dir
from bmc.runtime import trainer_defaults
from bmc.settings import ModelShape, PretrainSettings
from bmc.training.checkpoints import Checkpointing

log = logging.getLogger(__name__)


def build_model(tokenizer: PreTrainedTokenizerBase, shape: ModelShape) -> LlamaForCausalLM:
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=shape.hidden_size,
        num_hidden_layers=shape.num_layers,
        num_attention_heads=shape.num_heads,
        num_key_value_heads=shape.num_heads,
        intermediate_size=shape.intermediate_size,
        max_position_embeddings=shape.max_position_embeddings,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return LlamaForCausalLM(config)


def pack_corpus(lines: list[str], tokenizer: PreTrainedTokenizerBase, block_size: int) -> Dataset:
    """Tokenize each line as a document (BOS ... EOS), concatenate, and cut into full blocks."""
    ids: list[int] = []
    for enc in tokenizer(lines)["input_ids"]:
        ids.extend(enc + [tokenizer.eos_token_id])
    n_blocks = len(ids) // block_size
    blocks = [ids[i * block_size:(i + 1) * block_size] for i in range(n_blocks)]
    log.info("corpus: %d lines, %d tokens, %d blocks of %d", len(lines), len(ids), n_blocks, block_size)
    return Dataset.from_dict({"input_ids": blocks})


def pretrain(lines: list[str], tokenizer: PreTrainedTokenizerBase, shape: ModelShape,
             settings: PretrainSettings, out_dir: str | Path, ckpt: Checkpointing | None = None) -> dict:
    ckpt = ckpt or Checkpointing()
    torch.manual_seed(settings.seed)
    model = build_model(tokenizer, shape)
    n_params = sum(p.numel() for p in model.parameters())
    log.info("model: %s, %.2fM parameters", shape, n_params / 1e6)
    dataset = pack_corpus(lines, tokenizer, settings.block_size)
    with model_dir(out_dir) as (tmp, scratch):
        args = TrainingArguments(
            max_steps=settings.steps,
            per_device_train_batch_size=settings.batch_size,
            learning_rate=settings.learning_rate,
            weight_decay=settings.weight_decay,
            warmup_steps=settings.warmup_ratio,
            lr_scheduler_type="cosine_with_min_lr",
            lr_scheduler_kwargs={"min_lr_rate": settings.min_lr_rate},
            seed=settings.seed,
            **(trainer_defaults(settings.precision) | ckpt.trainer_args(scratch)),
        )
        trainer = Trainer(
            model=model, args=args, train_dataset=dataset,
            data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False),
        )
        result, resumed = ckpt.train(trainer)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    ckpt.finish()
    return {"resumed_from": resumed, "parameters": n_params, "corpus_blocks": len(dataset), "train_loss": result.training_loss,
            "train_seconds": result.metrics.get("train_runtime")}


"""Supervised fine-tuning with TRL's ``SFTTrainer`` on the paper's Instruction/Response chat template.

Each record becomes a conversational prompt-completion example: the user turn is ``problem``, the
assistant turn is the setup's response prefix ("Let's think step by step.\\n" for QA, as in the official
QA SFT set) followed by ``solution``. The tokenizer carries the chat template, so TRL renders
``<s>### Instruction:\\n{problem}\\n\\n### Response:\\n{solution}</s>\\n\\n``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTConfig, SFTTrainer

from bmc.runtime import optimization_args
from bmc.settings import SFTSettings
from bmc.templates import response_prefix
from bmc.training.checkpoints import Checkpointing
from bmc.training.launch import batch_geometry, output_model_dir

log = logging.getLogger(__name__)


def sft_examples(rows: list[dict], style: str) -> Dataset:
    prefix = response_prefix(style)
    return Dataset.from_list([
        {"prompt": [{"role": "user", "content": r["problem"]}],
         "completion": [{"role": "assistant", "content": prefix + r["solution"]}]}
        for r in rows
    ])


def train_sft(base_dir: str | Path, rows: list[dict], style: str, settings: SFTSettings,
              out_dir: str | Path, ckpt: Checkpointing | None = None) -> dict:
    ckpt = ckpt or Checkpointing()
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    model = AutoModelForCausalLM.from_pretrained(base_dir)
    dataset = sft_examples(rows, style)
    batch = batch_geometry(settings, "sft")
    with output_model_dir(out_dir) as (tmp, scratch):
        args = SFTConfig(completion_only_loss=settings.completion_only_loss, packing=False,
                         **(optimization_args(settings) | ckpt.trainer_args(scratch)
                            | {"gradient_accumulation_steps": batch["gradient_accumulation_steps"]}))
        trainer = SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)
        result, resumed = ckpt.train(trainer)
        trainer.save_model(str(tmp))
        tokenizer.save_pretrained(tmp)
        history = [h for h in trainer.state.log_history if "loss" in h]
    ckpt.finish()
    return {"examples": len(dataset), "steps": result.global_step, "train_loss": result.training_loss,
            "train_seconds": result.metrics.get("train_runtime"), "resumed_from": resumed, **batch,
            "log_history": history}

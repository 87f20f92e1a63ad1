"""Process setup shared by every stage: offline Hugging Face settings, threads, seeds, trainer defaults
(workflow infrastructure; the defaults follow the official training scripts)."""

from __future__ import annotations

import logging
import os
import sys

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
}


def set_offline_env() -> None:
    """No stage may reach the network: force the Hugging Face libraries offline (before they are imported)."""
    os.environ.update(OFFLINE_ENV)


def setup(threads: int = 1, seed: int | None = None) -> None:
    """Offline env, torch thread count and (optionally) all seeds, before any work in a job."""
    set_offline_env()
    import torch

    torch.set_num_threads(max(1, int(threads)))
    if seed is not None:
        from transformers import set_seed

        set_seed(seed)


def log_to(path: str | None) -> logging.Logger:
    """Send this process's stdout, stderr (progress bars included) and logging to ``path``."""
    if path:
        f = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - lives as long as the job
        sys.stdout = sys.stderr = f
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return logging.getLogger("bmc")


def optimization_args(settings) -> dict:
    """TrainingArguments shared by the SFT and preference stages, from their settings dataclasses."""
    return {
        "num_train_epochs": settings.epochs,
        "per_device_train_batch_size": settings.batch_size,
        "learning_rate": settings.learning_rate,
        "warmup_steps": settings.warmup_ratio,  # a float below 1 is a ratio of the total steps
        "lr_scheduler_type": settings.scheduler,
        "max_length": settings.max_length,
        "seed": settings.seed,
        **trainer_defaults(settings.precision),
    }


def trainer_defaults(precision: str = "fp32") -> dict:
    """TrainingArguments shared by every trainer of the study. TRL defaults to bf16 and gradient
    checkpointing, which fail or slow down on CPU; the precision comes from the study config."""
    import torch

    on_gpu = torch.cuda.is_available()
    if precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be fp32 or bf16, got {precision!r}")
    processes = int(os.environ.get("WORLD_SIZE", "1"))
    deepspeed = os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true"
    return {
        "report_to": "none",
        "use_cpu": not on_gpu and not deepspeed,  # DeepSpeed on CPU: its CPU accelerator (DS_ACCELERATOR=cpu)
        # several CPU processes (bmc.training.launch.cpu_stand_in): gloo; DeepSpeed on CPU needs it named too
        **({"ddp_backend": "gloo"} if processes > 1 and not on_gpu else {}),
        "bf16": precision == "bf16",
        "gradient_checkpointing": on_gpu,
        "dataloader_num_workers": 0,
        "save_strategy": "no",
        "logging_steps": 10,
        "logging_first_step": True,  # the training log starts at step 1 (diagnostics read its first and last entry)
        "disable_tqdm": False,
    }

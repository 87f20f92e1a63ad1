"""Resumable training: Trainer checkpoints in a folder of their own, and resuming from the last one.

The folder lies outside the model folder the rule declares as its output: Snakemake deletes the outputs of
a failed or killed job before running it again, and the checkpoints must survive that. A rerun of the
job (after a kill, a scheduler time limit or a preemption) finds the last checkpoint and continues from
it; a finished job removes its checkpoints.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from transformers.trainer_utils import get_last_checkpoint

log = logging.getLogger(__name__)


@dataclass
class Checkpointing:
    directory: str | None = None
    every_steps: int = 0  # 0: no checkpoints

    @property
    def enabled(self) -> bool:
        return bool(self.directory) and self.every_steps > 0

    def trainer_args(self, scratch: str | Path) -> dict:
        """``output_dir`` and saving arguments of a Trainer."""
        if not self.enabled:
            return {"output_dir": str(scratch)}
        return {"output_dir": self.directory, "save_strategy": "steps", "save_steps": self.every_steps,
                "save_total_limit": 1}

    def train(self, trainer):
        """``trainer.train()``, resuming from the last checkpoint a killed run left, if any."""
        last = get_last_checkpoint(self.directory) if self.enabled and Path(self.directory).is_dir() else None
        if last:
            log.info("resuming from checkpoint %s", last)
        return trainer.train(resume_from_checkpoint=last), last

    @classmethod
    def for_job(cls, smk) -> Checkpointing:
        """The checkpoints of a Snakemake job: ``results/<study>/checkpoints/<rule>/<wildcards>``, every
        ``checkpoints.every_steps`` of the config. Read from the config, not from params: the frequency
        does not change the result, so changing it must not rerun the job."""
        parts = [smk.rule, *(str(v) for v in smk.wildcards)]
        return cls(f"results/{smk.config['study']}/checkpoints/" + "/".join(parts),
                   smk.config.get("checkpoints", {}).get("every_steps", 0))

    def finish(self) -> None:
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)

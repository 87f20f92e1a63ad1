"""Resumable training: Trainer checkpoints in a folder of their own, and resuming from the last one (workflow
infrastructure; the official scripts train in one go).

The folder lies outside the model folder the rule declares as its output: Snakemake deletes the outputs of
a failed or killed job before running it again, and the checkpoints must survive that. A rerun of the
job (after a kill, a scheduler time limit or a preemption) finds the last checkpoint and continues from
it; a finished job removes its checkpoints. A checkpoint is resumed only if it was written by a job with
the same settings and inputs (a fingerprint stored beside it); one left by a run whose parameters or input
files have changed since is discarded, so it can never leak old settings into a new result.

A scheduler ends a job with SIGTERM (SLURM: at the time limit, on preemption; SIGKILL follows after its
KillWait) and some clusters warn with SIGUSR1 first. On either signal, training stops at the end of the
current optimizer step, saves a checkpoint there, and the job exits with 128 + the signal's number (a
failure, so that Snakemake or the scheduler runs it again, and the rerun resumes from that step). In a
multi-GPU job the processes agree on the step to stop at. Folder work (stale checkpoints, cut-off saves)
is done by the main process only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import signal
from dataclasses import dataclass, replace
from pathlib import Path

from transformers import TrainerCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from bmc.training.launch import is_main_process, wait_for_everyone, world_size

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)


class TrainingStopped(SystemExit):
    """Training was stopped by a signal after saving a checkpoint; the exit status is 128 + the signal."""

    def __init__(self, signum: int, step: int, checkpoint: str | None):
        super().__init__(128 + signum)
        self.signum, self.step, self.checkpoint = signum, step, checkpoint


class StopOnSignal(TrainerCallback):
    """Stops training at the end of the optimizer step during which a stop signal arrived, with a checkpoint.

    The handlers only record the signal; the Trainer saves (``should_save``) and leaves its loop
    (``should_training_stop``) at the step's end, where the model, optimizer and data position are
    consistent. With several processes the flag is reduced across them, so all stop at the same step
    (ZeRO-3 saves collectively)."""

    def __init__(self):
        self.signum: int | None = None
        self.stopped_at: int | None = None
        self._previous = {}

    def install(self) -> None:
        for sig in STOP_SIGNALS:
            self._previous[sig] = signal.signal(sig, self._record)

    def uninstall(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def _record(self, signum, frame) -> None:
        if self.signum is None:
            log.warning("received %s: saving a checkpoint at the end of this step, then stopping",
                        signal.Signals(signum).name)
        self.signum = signum

    def _agreed_signal(self, args) -> int:
        mine = self.signum or 0
        if world_size() == 1:
            return mine
        import torch
        import torch.distributed as dist

        flag = torch.tensor([mine], dtype=torch.int64, device=args.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        return int(flag.item())

    def on_step_end(self, args, state, control, **kwargs):
        signum = self._agreed_signal(args)
        if signum:
            self.signum = signum
            self.stopped_at = state.global_step
            control.should_save = True
            control.should_training_stop = True
        return control


@dataclass
class Checkpointing:
    directory: str | None = None
    every_steps: int = 0  # 0: no checkpoints
    fingerprint: str = ""  # of the job's settings and inputs; checkpoints with another one are discarded

    FINGERPRINT_FILE = "job_fingerprint.json"

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
        """``trainer.train()``, resuming from the last checkpoint a killed run left, if any; a stop signal
        during training saves a checkpoint and raises :class:`TrainingStopped`."""
        last = None
        if self.enabled:
            if is_main_process():
                self._discard_if_stale()
                Path(self.directory).mkdir(parents=True, exist_ok=True)
                (Path(self.directory) / self.FINGERPRINT_FILE).write_text(json.dumps({"fingerprint": self.fingerprint}))
                last_complete_checkpoint(self.directory)  # removes a checkpoint cut off mid-save
            wait_for_everyone()
            last = last_complete_checkpoint(self.directory)
        if last:
            log.info("resuming from checkpoint %s", last)
        if not self.enabled or not hasattr(trainer, "add_callback"):
            return trainer.train(resume_from_checkpoint=last), last
        stop = StopOnSignal()
        trainer.add_callback(stop)
        stop.install()
        try:
            result = trainer.train(resume_from_checkpoint=last)
        finally:
            stop.uninstall()
        if stop.stopped_at is not None:
            saved = os.path.join(self.directory, f"{PREFIX_CHECKPOINT_DIR}-{stop.stopped_at}")
            log.warning("stopped by %s at step %d; checkpoint %s; a rerun of the job resumes from it",
                        signal.Signals(stop.signum).name, stop.stopped_at, saved)
            raise TrainingStopped(stop.signum, stop.stopped_at, saved)
        return result, last

    def _discard_if_stale(self) -> None:
        folder = Path(self.directory)
        if not folder.is_dir():
            return
        stamp = folder / self.FINGERPRINT_FILE
        try:
            found = json.loads(stamp.read_text())["fingerprint"]
        except (OSError, ValueError, KeyError):
            found = None
        if found != self.fingerprint:
            log.warning("discarding checkpoints in %s: written by a run with other settings or inputs", folder)
            shutil.rmtree(folder)

    @classmethod
    def for_job(cls, smk) -> Checkpointing:
        """The checkpoints of a Snakemake job: ``results/<study>/checkpoints/<rule>/<wildcards>``, every
        ``checkpoints.every_steps`` of the config. Read from the config, not from params: the frequency
        does not change the result, so changing it must not rerun the job."""
        parts = [smk.rule, *(str(v) for v in smk.wildcards)]
        return cls(f"results/{smk.config['study']}/checkpoints/" + "/".join(parts),
                   smk.config.get("checkpoints", {}).get("every_steps", 0),
                   job_fingerprint(dict(smk.params.items()), list(smk.input)))

    def for_seed(self, seed: int) -> Checkpointing:
        """The checkpoints of one seed of a job that trains several: a folder ``seed<s>`` of the job's."""
        return replace(self, directory=f"{self.directory}/seed{seed}" if self.directory else self.directory)

    def finish(self) -> None:
        """Remove the checkpoints of a finished job (main process, after every process is done with them)."""
        wait_for_everyone()
        if self.directory and is_main_process():
            shutil.rmtree(self.directory, ignore_errors=True)


def _newest_mtime(path: Path) -> float:
    if path.is_dir():
        return max((p.stat().st_mtime for p in path.rglob("*") if p.is_file()), default=path.stat().st_mtime)
    return path.stat().st_mtime


def job_fingerprint(params: dict, inputs: list[str]) -> str:
    """A hash of a job's parameters and of its input files' modification times (what Snakemake itself
    compares to decide that a job is stale)."""
    state = {"params": params, "inputs": [(str(p), _newest_mtime(Path(p)) if Path(p).exists() else None)
                                          for p in inputs]}
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=repr).encode()).hexdigest()


def last_complete_checkpoint(directory: str | Path) -> str | None:
    """The newest ``checkpoint-N`` whose ``trainer_state.json`` (the Trainer writes it last) is there and
    readable. A newer checkpoint that a kill cut off mid-save is removed (logged), never resumed."""
    folders = sorted((p for p in Path(directory).glob(f"{PREFIX_CHECKPOINT_DIR}-*") if p.is_dir()
                      and p.name.split("-")[-1].isdigit()), key=lambda p: int(p.name.split("-")[-1]), reverse=True)
    for folder in folders:
        try:
            json.loads((folder / "trainer_state.json").read_text())
            return str(folder)
        except (OSError, ValueError):
            log.warning("removing %s: cut off while it was being saved", folder)
            shutil.rmtree(folder, ignore_errors=True)
    return None

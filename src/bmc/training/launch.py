"""How a training job runs: in its own process, or under ``accelerate launch`` with one process per GPU (as the
official training scripts launch on the paper's GPU nodes).

A training rule asks for its GPUs as the job resource ``gpu`` (sized by the study config, see
:mod:`bmc.cluster.resources`). Its script calls :func:`training_job`:

* ``gpu`` <= 1 (the tiny study on CPU, one GPU): the script trains in the Snakemake job's own process,
  exactly as a plain ``script:`` rule.
* ``gpu`` = N > 1: the script writes the job (inputs, outputs, params, wildcards, threads) to
  ``<log>.job.json`` and replaces its process (``exec``, so a scheduler's signals reach the launcher
  directly) with ::

      accelerate launch --config_file <distributed.accelerate_config> --num_processes N \\
          --main_process_port <a free port> <script> --job <log>.job.json

  Each of the N processes runs the same script as a command and reads the job from that file
  (:class:`Job` has the attributes of Snakemake's ``snakemake`` object that the scripts use).

Where no CUDA device exists and the study allows it (``distributed.cpu_processes``: CI's localhost SLURM cluster
with fake GPUs, the tests), N CPU processes stand in for the N GPUs, with the adjustments CPU training needs and
nothing else (:func:`cpu_stand_in`): the
gloo backend, fp32, and, for ``accelerate launch``, ``--multi_gpu`` with ``ACCELERATE_USE_CPU`` (a DDP config) or
DeepSpeed's CPU accelerator (a ZeRO config, whose parameters are then partitioned whatever their size). They are
written into the job's own accelerate config beside the job file, and named in the log.

What follows from the number of processes lives here too: the gradient accumulation that keeps a global
batch (the paper's 128) whatever the number of GPUs, and which process writes the outputs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bmc.io import model_dir, write_json

log = logging.getLogger(__name__)

DEFAULT_ACCELERATE_CONFIG = "configs/accelerate/deepspeed_zero3.yaml"


# ----------------------------------------------------------------------------------------- processes
def world_size() -> int:
    """Number of training processes of this job (``WORLD_SIZE``, set by ``accelerate launch``; else 1)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    """The process that writes the job's outputs (global rank 0)."""
    return int(os.environ.get("RANK", "0")) == 0


def wait_for_everyone() -> None:
    """A barrier across the job's processes (nothing to wait for in a single process)."""
    if world_size() > 1:
        from accelerate import PartialState

        PartialState().wait_for_everyone()


def gradient_accumulation_steps(global_batch_size: int | None, per_device_batch_size: int, processes: int,
                                configured: int = 1, where: str = "settings") -> int:
    """Accumulation steps that make ``per_device_batch_size`` x ``processes`` x steps = ``global_batch_size``.

    Without a global batch the configured number of steps is used as it is. A global batch that the
    per-device batch times the number of processes does not divide is an error (the paper's 128 needs
    e.g. 2 x 4 GPUs x 16 or 4 x 4 x 8); so is giving both a global batch and accumulation steps."""
    if global_batch_size is None:
        return configured
    if configured != 1:
        raise ValueError(f"{where}: give global_batch_size ({global_batch_size}) or gradient_accumulation_steps "
                         f"({configured}), not both: the accumulation is computed from the global batch")
    per_step = per_device_batch_size * processes
    if global_batch_size % per_step:
        raise ValueError(f"{where}: global_batch_size {global_batch_size} is not a multiple of batch_size "
                         f"{per_device_batch_size} x {processes} process(es) = {per_step}; choose a per-device "
                         f"batch size and a number of GPUs whose product divides {global_batch_size}")
    return global_batch_size // per_step


def batch_geometry(settings, where: str = "settings") -> dict:
    """The batch of a training run in this process group: per device, processes, accumulation, global."""
    processes = world_size()
    steps = gradient_accumulation_steps(getattr(settings, "global_batch_size", None), settings.batch_size,
                                        processes, getattr(settings, "gradient_accumulation_steps", 1), where)
    return {"per_device_batch_size": settings.batch_size, "processes": processes,
            "gradient_accumulation_steps": steps, "global_batch_size": settings.batch_size * processes * steps}


@contextlib.contextmanager
def output_model_dir(path: str | Path) -> Iterator[tuple[Path, Path]]:
    """:func:`bmc.io.model_dir` in the main process. The other processes of a multi-GPU job take part in
    saving (ZeRO-3 gathers the weights from every process) but must not touch the output folder: they get a
    throwaway folder, removed afterwards."""
    if is_main_process():
        with model_dir(path) as dirs:
            yield dirs
        return
    tmp = Path(tempfile.mkdtemp(prefix=f"rank{os.environ.get('RANK')}-"))
    try:
        yield tmp, tmp / "trainer"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- the job
class Names(list):
    """A list whose named entries are also attributes (what the scripts use of Snakemake's Namedlist)."""

    def __init__(self, values=(), named: dict | None = None):
        super().__init__(values)
        self._named = dict(named or {})

    def __getattr__(self, name):
        try:
            return self.__dict__["_named"][name]
        except KeyError:
            raise AttributeError(name) from None

    def keys(self):
        return self._named.keys()

    def items(self):
        return self._named.items()

    def get(self, name, default=None):
        return self._named.get(name, default)

    def to_json(self) -> dict:
        return {"values": list(self), "named": self._named}

    @classmethod
    def from_json(cls, obj: dict) -> Names:
        return cls(obj["values"], obj["named"])


def _names(namedlist) -> Names:
    return Names(list(namedlist), dict(namedlist.items()))


class Job:
    """A Snakemake job as the training scripts see it, read from the file :func:`training_job` writes."""

    FIELDS = ("input", "output", "log", "params", "wildcards", "resources")

    def __init__(self, rule: str, threads: int, config: dict, **fields: Names):
        self.rule, self.threads, self.config = rule, threads, config
        for name in self.FIELDS:
            setattr(self, name, fields.get(name, Names()))

    @classmethod
    def from_snakemake(cls, smk) -> Job:
        # the config keys a training job reads (Checkpointing.for_job); the rest of the config stays out
        config = {k: smk.config[k] for k in ("study", "checkpoints") if k in smk.config}
        return cls(smk.rule, smk.threads, config, **{name: _names(getattr(smk, name)) for name in cls.FIELDS})

    def to_json(self) -> dict:
        return {"rule": self.rule, "threads": self.threads, "config": self.config,
                **{name: getattr(self, name).to_json() for name in self.FIELDS}}

    @classmethod
    def read(cls, path: str | Path) -> Job:
        obj = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(obj["rule"], obj["threads"], obj["config"],
                   **{name: Names.from_json(obj[name]) for name in cls.FIELDS})


def job_gpus(smk) -> int:
    return int(smk.resources.get("gpu", 0) or 0)


def accelerate_config(config: dict, basedir: str | Path) -> Path:
    """The ``accelerate launch`` config of multi-GPU training (``distributed.accelerate_config``; a relative
    path is relative to the workflow's folder)."""
    path = Path((config.get("distributed") or {}).get("accelerate_config", DEFAULT_ACCELERATE_CONFIG))
    path = path if path.is_absolute() else Path(basedir) / path
    if not path.is_file():
        raise FileNotFoundError(f"distributed.accelerate_config: {path} does not exist")
    return path


def has_cuda() -> bool:
    import torch

    return torch.cuda.is_available() and torch.cuda.device_count() > 0


def cpu_stand_in(config_file: str | Path, job_file: str | Path) -> tuple[Path, dict[str, str], list[str]]:
    """The accelerate config, environment and extra ``accelerate launch`` arguments that run a multi-GPU job's
    processes on the CPU: the study's config with ``mixed_precision: 'no'``; a DEEPSPEED config gets a DeepSpeed
    config file with ZeRO's settings kept and ``stage3_param_persistence_threshold: 0``
    (a small model's parameters would otherwise stay whole on every process), and ``DS_ACCELERATOR=cpu``; a
    MULTI_GPU (DDP) config gets ``use_cpu: true`` and ``--multi_gpu`` with ``ACCELERATE_USE_CPU=1`` (``--cpu`` or
    ``MULTI_CPU`` would start one process). Written beside ``job_file``; returns (config, environment, arguments)."""
    import yaml

    cfg = yaml.safe_load(Path(config_file).read_text(encoding="utf-8"))
    cfg.update(mixed_precision="no", downcast_bf16="no")
    env = {"BMC_CPU_STAND_IN": "1"}
    args: list[str] = []
    kind = cfg.get("distributed_type")
    if kind == "DEEPSPEED":  # DeepSpeed's own CPU accelerator; accelerate's use_cpu would leave DeepSpeed out
        ds = cfg.get("deepspeed_config") or {}
        zero = {"stage": ds.get("zero_stage", 3), "stage3_param_persistence_threshold": 0,
                "stage3_gather_16bit_weights_on_model_save": bool(ds.get("zero3_save_16bit_model", True)),
                "offload_optimizer": {"device": ds.get("offload_optimizer_device", "none")},
                "offload_param": {"device": ds.get("offload_param_device", "none")}}
        ds_json = Path(f"{job_file}.deepspeed.json")
        write_json(ds_json, {"zero_optimization": zero, "bf16": {"enabled": False}, "fp16": {"enabled": False},
                             "train_micro_batch_size_per_gpu": "auto", "gradient_accumulation_steps": "auto",
                             "train_batch_size": "auto", "gradient_clipping": "auto"})
        cfg["deepspeed_config"] = {"deepspeed_config_file": str(ds_json),
                                   "zero3_init_flag": bool(ds.get("zero3_init_flag", True))}
        cfg.pop("mixed_precision")  # the DeepSpeed file sets it (accelerate refuses both)
        env["DS_ACCELERATOR"] = "cpu"
    elif kind == "MULTI_GPU":
        cfg["use_cpu"] = True
        env["ACCELERATE_USE_CPU"] = "true"
        args.append("--multi_gpu")
    else:
        raise ValueError(f"{config_file}: distributed_type {kind!r}: a multi-GPU job needs MULTI_GPU or DEEPSPEED")
    out = Path(f"{job_file}.accelerate.yaml")
    out.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return out, env, args


def free_port() -> int:
    """A free TCP port for the processes' rendezvous: two multi-GPU jobs on one node must not share one."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_command(script: str | Path, job_file: str | Path, processes: int, config_file: str | Path,
                   port: int | None = None, extra: list[str] | None = None) -> list[str]:
    """``accelerate launch`` of ``script --job job_file`` with one process per GPU, with this interpreter."""
    return [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config_file),
            "--num_processes", str(processes), "--main_process_port", str(port or free_port()), *(extra or []),
            str(script), "--job", str(job_file)]


def launch(script: str | Path, job_file: str | Path, processes: int, config_file: str | Path,
           port: int | None = None) -> tuple[list[str], dict[str, str]]:
    """The command and environment that start the job's ``processes``: on GPUs the study's accelerate config as it
    is; without a CUDA device, CPU processes with :func:`cpu_stand_in`'s adjustments."""
    env = dict(os.environ)
    if has_cuda():
        return launch_command(script, job_file, processes, config_file, port), env
    cpu_config, cpu_env, extra = cpu_stand_in(config_file, job_file)
    log.warning("no CUDA device: %d CPU processes stand in for the job's %d GPUs (gloo, fp32; %s)", processes,
                processes, cpu_config)
    return launch_command(script, job_file, processes, cpu_config, port, extra), env | cpu_env


def training_job(smk, script: str, argv: list[str] | None = None):
    """The job this process trains.

    Run by Snakemake (``smk`` is the ``snakemake`` object): with at most one GPU, ``smk`` itself (train
    here); with N > 1 GPUs, this process becomes ``accelerate launch`` of ``script`` with N processes and
    never returns. Run as a command (``smk`` is None: ``script --job FILE``): the job in FILE."""
    if smk is None:
        parser = argparse.ArgumentParser(description=f"{Path(script).name}: one process of a multi-GPU job")
        parser.add_argument("--job", required=True, help="the job file written by the Snakemake job")
        return Job.read(parser.parse_args(argv).job)
    gpus = job_gpus(smk)
    if gpus <= 1:
        return smk
    import torch

    from bmc.cluster.resources import check_gpus

    cpu = not has_cuda() and bool((smk.config.get("distributed") or {}).get("cpu_processes"))
    if not cpu:  # never N training processes on too few GPUs, unless the study asks for CPU processes
        check_gpus(gpus, torch.cuda.device_count(), smk.rule)
    job_file = f"{smk.log[0]}.job.json"
    write_json(job_file, Job.from_snakemake(smk).to_json())
    cmd, env = launch(script, job_file, gpus, accelerate_config(smk.config, Path(script).resolve().parents[1]))
    log.info("%d GPUs: launching %s", gpus, " ".join(cmd))
    _exec_logged(cmd, smk.log[0], env)


def _exec_logged(cmd: list[str], logfile: str, env: dict[str, str] | None = None) -> None:
    """Replace this process with ``cmd`` (in ``env``), its output appended to ``logfile``."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    fd = os.open(logfile, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.execve(cmd[0], cmd, env if env is not None else dict(os.environ))

"""Job resources per rule, sized by the study config (its ``resources`` block; the paper trains on 4x80 GB GPU
nodes); workflow infrastructure with no counterpart in the official code.

A rule's jobs ask for what the study needs: the tiny study runs every rule on CPU, the paper study trains
7B/8B models on 4 GPUs. The sizing therefore belongs to the study config, not to a profile (a profile
applies to every study; ``profiles/default`` even to every run)::

    resources:
      default: {mem_mb: 4000, runtime: 60}          # every rule without an entry of its own
      train_preference: {gpu: 4, cpus_per_gpu: 8, mem_mb: 400000, runtime: 1440}
      evaluate: {gpu: 1, cpus_per_gpu: 8, mem_mb: 64000, runtime: 120}

Keys are rule names (``default`` for all others); values are Snakemake job resources as the SLURM executor
plugin reads them: ``gpu`` (-> ``--gpus``), ``cpus_per_gpu``, ``mem_mb`` (-> ``--mem``), ``runtime`` in
minutes (-> ``-t``), ``cpus_per_task``, ``gpu_model``, ``constraint``, ``slurm_partition``, ...

Every job gets an integer ``gpu`` (0 when the study gives none): :mod:`bmc.training.launch` starts ``accelerate
launch`` with that many processes when it is above 1, and the cost table counts GPU-hours with it. Locally
the resource constrains nothing (Snakemake limits only the resources given with ``--resources``), so a
laptop runs a study whatever its sizing; ``gpu`` > 1 without CUDA devices is refused by
:func:`check_gpus` before a job starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

DEFAULT = "default"
# resources that only mean something for a job that has GPUs
GPU_ONLY = ("cpus_per_gpu", "gpu_model", "tasks_per_gpu")


def load_resources(config: dict, basedir: str | Path) -> None:
    """A ``resources`` block given as a file name (relative to ``basedir``, the workflow folder) is replaced by
    that YAML file's own ``resources`` block, so that studies on the same nodes share one sizing."""
    block = config.get("resources")
    if not isinstance(block, str):
        return
    import yaml

    path = Path(basedir) / block
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ValueError(f"resources: cannot read the resources file {path} ({e.strerror})") from None
    if not isinstance(loaded, Mapping) or not isinstance(loaded.get("resources"), Mapping):
        raise ValueError(f"resources: {path} has no `resources:` mapping")
    config["resources"] = dict(loaded["resources"])


def job_resources(config: Mapping, rule: str, uses_gpu: bool = True) -> dict:
    """The resources of ``rule``'s jobs: the ``default`` entry of the study's ``resources`` block, updated
    with the rule's own entry. ``uses_gpu=False`` (e.g. bridging through a remote API) drops the GPU."""
    block = config.get("resources") or {}
    unknown = [name for name, entry in block.items() if not isinstance(entry, Mapping)]
    if unknown:
        raise ValueError(f"resources.{unknown[0]}: expected a mapping of resource names to values")
    out: dict = {"gpu": 0}
    out.update(block.get(DEFAULT) or {})
    out.update(block.get(rule) or {})
    gpu = out["gpu"]
    if isinstance(gpu, bool) or not isinstance(gpu, int) or gpu < 0:
        raise ValueError(f"resources.{rule if 'gpu' in (block.get(rule) or {}) else DEFAULT}.gpu: "
                         f"expected a number of GPUs (an integer >= 0), got {gpu!r}")
    if not uses_gpu or gpu == 0:
        out["gpu"] = 0
        for key in GPU_ONLY:
            out.pop(key, None)
    return out


def unknown_rules(config: Mapping, rules: set[str]) -> list[str]:
    """Entries of the ``resources`` block that name no rule of the workflow (a misspelt rule name)."""
    return sorted(set(config.get("resources") or {}) - set(rules) - {DEFAULT})


def check_gpus(requested: int, available: int, rule: str) -> None:
    """A job of ``requested`` > 1 GPUs on a machine with fewer CUDA devices would start that many training
    processes on too few (or no) GPUs: fail with a message that says where the number comes from."""
    if requested > 1 and available < requested:
        raise RuntimeError(f"rule {rule}: the job asks for {requested} GPUs (resource 'gpu', from the study "
                           f"config's resources block) but {available} CUDA device(s) are visible; run it on "
                           f"a machine with {requested} GPUs (e.g. --profile profiles/slurm), lower "
                           f"resources.{rule}.gpu, or set distributed.cpu_processes: true to run the "
                           f"processes on the CPU")

"""What produced an output: resolved settings, seed, package versions and the git commit, written beside it
(workflow infrastructure, not in the paper or the official code)."""

from __future__ import annotations

import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

PACKAGES = ("torch", "transformers", "trl", "accelerate", "datasets", "tokenizers", "snakemake", "bmc-study")


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit(path: str | Path | None = None) -> str:
    """The commit of the workflow's code (this package's checkout), '-dirty' if it has uncommitted changes;
    'unknown' outside a git checkout."""
    path = path or Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, timeout=5,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=path,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine() -> dict:
    """The processor a run computed on. CPU training is bit-reproducible only on the same processor: the vector
    instructions torch's kernels use (``cpu_capability``) change the rounding, and over hundreds of steps that
    makes a different model (docs/performance.md)."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": model, "platform": platform.platform()}
    torch = sys.modules.get("torch")  # only where the job computes with torch: importing it costs seconds
    if torch is not None:
        info["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        info["cuda_devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return info


def run_info(rule: str, settings: dict, seed: int | None = None, **extra) -> dict:
    return {
        "rule": rule,
        "settings": settings,
        "seed": seed,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "packages": package_versions(),
        "machine": machine(),
        **extra,
    }

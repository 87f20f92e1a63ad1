#!/usr/bin/env python3
"""Resolve the pip part of every envs/*.yaml against the package index and keep lock files beside them.

    python envs/resolve.py            # --check: every env resolves, and its lock file is current
    python envs/resolve.py --update   # re-resolve at today's index and rewrite envs/<name>.lock.txt
    python envs/resolve.py --update --exclude-newer 2026-12-02T14:30:00Z   # ... at a given index date

Each env is resolved for the cluster's platform, not this machine's: Linux x86_64 (manylinux_2_28) and the
CPython version the env's conda part names (`python=3.11`), with `uv pip compile --python-platform`, so
GPU-only wheels (vllm, the CUDA torch and its nvidia-* wheels) resolve without being installed or even
downloaded (uv reads their metadata only). The index is PyPI (override: BMC_ENVS_INDEX_URL); this
machine's pip settings (local wheel folders, caps in pip constraint files) are not used, since a cluster
user does not have them.

A lock file records the index date it was resolved at (uv's --exclude-newer: files uploaded later are
ignored). --check re-resolves the yaml's pip part with the lock's pins as constraints and must get exactly
the lock's pins back: a lock that no longer matches its yaml (a pin changed, a package added or dropped, and
the lock not rewritten) fails, and so does a pinned version the index no longer serves, while new releases
on the index do not. (Re-resolving at the index date alone is not enough: a mirror that lagged behind PyPI
when the lock was made, or a stale uv cache, resolves the same date to other versions later.) Failures name
the env and print the resolver's explanation of the conflict. Exit status: 0 when every env passes, 1
otherwise.

uv itself is pinned (UV_VERSION): taken from PATH when it is that version, otherwise installed once into
a private venv under ~/.cache/bmc (BMC_UV_DIR) with this Python's pip.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

UV_VERSION = "0.13.9"
PLATFORM = "x86_64-manylinux_2_28"
DEFAULT_INDEX = "https://pypi.org/simple"
ENVS_DIR = Path(__file__).resolve().parent
EXCLUDE_NEWER_RE = re.compile(r"^# index date \(uv --exclude-newer\): (\S+)$", re.M)


class EnvError(Exception):
    """An env that does not resolve or whose lock is stale; the message names the env."""


# ---------------------------------------------------------------------------------------------------- the yaml


def read_env(path: Path) -> dict:
    """The env's name, Python version (from its conda part) and pip requirements, in file order."""
    import yaml  # pyyaml: in the project's .venv and in every env

    spec = yaml.safe_load(path.read_text())
    python, pip_reqs = None, []
    for dep in spec.get("dependencies") or []:
        if isinstance(dep, dict) and "pip" in dep:
            pip_reqs.extend(str(r).strip() for r in dep["pip"] or [])
        elif isinstance(dep, str):
            m = re.fullmatch(r"python\s*=+\s*(\d+\.\d+)(?:\.\*)?", dep.strip())
            if m:
                python = m.group(1)
    if python is None:
        raise EnvError(f"{path.name}: the conda part pins no python=X.Y, so there is no Python to resolve for")
    if not pip_reqs:
        raise EnvError(f"{path.name}: no pip part")
    return {"name": spec.get("name", path.stem), "python": python, "pip": pip_reqs}


# ---------------------------------------------------------------------------------------------------- uv


def find_uv() -> str:
    """A uv executable of UV_VERSION: from PATH, from the private venv, or freshly installed there."""
    def version(exe: str) -> str | None:
        try:
            out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30).stdout
        except OSError:
            return None
        parts = out.split()
        return parts[1] if len(parts) >= 2 else None

    on_path = shutil.which("uv")
    if on_path and version(on_path) == UV_VERSION:
        return on_path
    home = Path(os.environ.get("BMC_UV_DIR") or Path.home() / ".cache" / "bmc" / f"uv-{UV_VERSION}")
    exe = home / "bin" / "uv"
    if exe.exists() and version(str(exe)) == UV_VERSION:
        return str(exe)
    print(f"envs/resolve.py: installing uv {UV_VERSION} into {home}", file=sys.stderr)
    venv.EnvBuilder(with_pip=True, clear=True).create(home)
    subprocess.run([str(home / "bin" / "python"), "-m", "pip", "install", "--quiet", f"uv=={UV_VERSION}"],
                   check=True)
    return str(exe)


def uv_env() -> dict:
    """The environment uv runs in: none of the UV_* settings of the machine (indexes, constraints)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UV_")}
    if os.environ.get("UV_CACHE_DIR"):
        env["UV_CACHE_DIR"] = os.environ["UV_CACHE_DIR"]
    return env


def compile_command(uv: str, python: str, index: str, exclude_newer: str | None, src: str, out: str,
                    constraints: str | None = None) -> list[str]:
    return [uv, "pip", "compile", "--quiet", "--no-config", "--no-header",
            "--python-version", python, "--python-platform", PLATFORM, "--index-url", index,
            *(["--exclude-newer", exclude_newer] if exclude_newer else []),
            *(["--constraint", constraints] if constraints else []),
            "--output-file", out, src]


def header(path: Path, env: dict, index: str, exclude_newer: str) -> str:
    return "\n".join([
        f"# envs/{path.name} ({env['name']}): its pip part, resolved for Linux x86_64 (manylinux_2_28), CPython {env['python']}.",
        f"# Made by `python envs/resolve.py --update` with uv {UV_VERSION}:",
        f"#   uv pip compile --no-config --no-header --python-version {env['python']} --python-platform {PLATFORM} \\",
        f"#     --index-url {index} --exclude-newer {exclude_newer} <the yaml's pip list>",
        f"# index date (uv --exclude-newer): {exclude_newer}",
        "# `python envs/resolve.py` (CI) re-resolves the yaml with these pins as constraints and must get exactly them.",
        "# To install exactly this set inside the env (after `conda env create -f` the yaml):",
        f"#   pip install --no-deps -r envs/{path.stem}.lock.txt",
        "",
    ])


def resolve(uv: str, path: Path, index: str, exclude_newer: str | None, pins: dict[str, str] | None = None) -> str:
    """The lock text of one env at one index date (or, with ``pins``, constrained to those versions); EnvError
    with uv's explanation when it does not resolve."""
    env = read_env(path)
    with tempfile.TemporaryDirectory(prefix=f"bmc-env-{path.stem}-") as tmp:
        src, out = Path(tmp) / f"{path.stem}.in", Path(tmp) / f"{path.stem}.lock.txt"
        src.write_text("\n".join(env["pip"]) + "\n")
        constraints = None
        if pins is not None:
            constraints = Path(tmp) / "lock-constraints.txt"
            constraints.write_text("".join(f"{name}=={version}\n" for name, version in sorted(pins.items())))
        cmd = compile_command(uv, env["python"], index, exclude_newer, str(src), str(out),
                              str(constraints) if constraints else None)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=uv_env(), timeout=900)
        if proc.returncode != 0:
            explanation = (proc.stderr or proc.stdout).strip().replace(str(src), f"envs/{path.name} (pip part)")
            raise EnvError(f"envs/{path.name} ({env['name']}) does not resolve for Linux x86_64 / Python "
                           f"{env['python']}:\n{explanation}")
        body = out.read_text().replace(str(src), f"envs/{path.name}")
    return header(path, env, index, exclude_newer) + body


def lock_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.lock.txt")


PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", re.M)


def lock_pins(text: str) -> dict[str, str]:
    """{normalised name: version} of a lock file's pins."""
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in PIN_RE.findall(text)}


def check_one(uv: str, path: Path, index: str) -> str:
    lock = lock_path(path)
    old = lock.read_text() if lock.exists() else ""
    m = EXCLUDE_NEWER_RE.search(old)
    if not m:  # still say whether the yaml resolves at all (today's index), then that the lock is missing
        resolve(uv, path, index, dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
        raise EnvError(f"envs/{path.name}: resolves, but envs/{lock.name} is missing or has no index-date "
                       "line; run `python envs/resolve.py --update`")
    pins = lock_pins(old)
    try:
        got = lock_pins(resolve(uv, path, index, None, pins=pins))
    except EnvError as err:
        raise EnvError(f"{err}\n(resolved with the pins of envs/{lock.name} as constraints: the yaml asks for "
                       "something the lock does not have, or the index no longer serves a pinned version; run "
                       "`python envs/resolve.py --update`)") from None
    if got != pins:
        changes = [f"  {name}: lock {pins.get(name, '-')}, yaml resolves to {got.get(name, '-')}"
                   for name in sorted(set(pins) | set(got)) if pins.get(name) != got.get(name)]
        raise EnvError(f"envs/{path.name}: resolves, but not to the pins of envs/{lock.name} (yaml changed?); "
                       "run `python envs/resolve.py --update`:\n" + "\n".join(changes))
    return f"envs/{path.name}: resolves to the pins of {lock.name} ({len(pins)} pins, index date {m.group(1)})"


def update_one(uv: str, path: Path, index: str, exclude_newer: str) -> str:
    text = resolve(uv, path, index, exclude_newer)
    lock_path(path).write_text(text)
    pins = sum(1 for line in text.splitlines() if "==" in line and not line.startswith("#"))
    return f"envs/{path.name}: resolved, wrote {lock_path(path).name} ({pins} pins)"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="(default) every env resolves and its lock is current")
    mode.add_argument("--update", action="store_true", help="re-resolve and rewrite the lock files")
    ap.add_argument("--exclude-newer", help="index date for --update (default: now, UTC)")
    ap.add_argument("envs", nargs="*", help="env names or yaml paths (default: every envs/*.yaml)")
    args = ap.parse_args(argv)

    paths = [ENVS_DIR / (e if e.endswith(".yaml") else f"{e}.yaml") if "/" not in e else Path(e)
             for e in args.envs] or sorted(ENVS_DIR.glob("*.yaml"))
    index = os.environ.get("BMC_ENVS_INDEX_URL", DEFAULT_INDEX)
    stamp = args.exclude_newer or dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    uv = find_uv()

    def job(path: Path) -> str:
        return update_one(uv, path, index, stamp) if args.update else check_one(uv, path, index)

    failures = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(paths)) as pool:
        futures = {pool.submit(job, p): p for p in paths}
        for fut in concurrent.futures.as_completed(futures):
            try:
                print(fut.result())
            except EnvError as err:
                failures += 1
                print(f"FAIL {err}", file=sys.stderr)
            except subprocess.TimeoutExpired as err:
                failures += 1
                print(f"FAIL envs/{futures[fut].name}: the resolver timed out ({err.timeout} s)", file=sys.stderr)
    if failures:
        print(f"envs/resolve.py: {failures} of {len(paths)} envs failed", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

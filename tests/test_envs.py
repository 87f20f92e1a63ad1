"""The conda envs the rules run in (envs/*.yaml) and their lock files (envs/<name>.lock.txt).

Offline checks only: every env has a lock, every pin of the yaml holds in its lock, and the envs that
must stay apart (vLLM's torch/transformers pins versus TRL's) are apart. The resolution itself against
the package index is `python envs/resolve.py` (a CI step: it needs the index), which re-resolves every
env at its lock's index date and must reproduce the lock exactly.
"""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
ENVS = sorted((REPO / "envs").glob("*.yaml"))


def _resolver():
    spec = importlib.util.spec_from_file_location("envs_resolve", REPO / "envs" / "resolve.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _lock(path: Path) -> dict[str, Version]:
    pins = {}
    for line in path.with_name(f"{path.stem}.lock.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)$", line)
        if m:
            pins[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = Version(m.group(2))
    return pins


def test_there_are_envs():
    assert {p.stem for p in ENVS} >= {"training", "inference", "evaluation", "tables", "judging"}


@pytest.mark.parametrize("path", ENVS, ids=lambda p: p.stem)
def test_lock_satisfies_every_pin_of_the_yaml(path):
    env = _resolver().read_env(path)
    lock_file = path.with_name(f"{path.stem}.lock.txt")
    assert lock_file.exists(), f"no {lock_file.name}: run python envs/resolve.py --update"
    text = lock_file.read_text()
    assert f"CPython {env['python']}" in text and "index date (uv --exclude-newer): " in text
    pins = _lock(path)
    for raw in env["pip"]:
        req = Requirement(raw)
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        assert name in pins, f"{path.name}: {req.name} is not in {lock_file.name}"
        assert req.specifier.contains(pins[name], prereleases=True), \
            f"{path.name}: {raw} but {lock_file.name} has {name}=={pins[name]}"


def test_vllm_and_trl_live_in_different_envs():
    locks = {p.stem: _lock(p) for p in ENVS}
    with_vllm = {n for n, pins in locks.items() if "vllm" in pins}
    with_trl = {n for n, pins in locks.items() if "trl" in pins}
    assert with_vllm and with_trl and not (with_vllm & with_trl)


def test_every_rule_env_exists_and_is_locked():
    used = set()
    for smk in (REPO / "rules").glob("*.smk"):
        used |= set(re.findall(r'conda:\s*\n\s*"\.\./envs/([^"]+)"', smk.read_text()))
    assert used, "no conda: directives found in rules/*.smk"
    for name in used:
        assert (REPO / "envs" / name).exists(), name
        assert (REPO / "envs" / name.replace(".yaml", ".lock.txt")).exists(), name


@pytest.mark.parametrize("env", ["inference", "evaluation"])
def test_envs_that_grade_math_answers_have_the_grader(env):
    """sample_losing and bridge_pairs (inference) and evaluate (evaluation) call bmc.evaluation.answers.is_correct, i.e.
    bmc.evaluation.math_parser and math_grader: strip_string needs word2number, the timeout pool pebble, the symbolic path sympy's
    parse_latex on the ANTLR 4.11 runtime and latex2sympy2 (the harness's build)."""
    pins = _lock(REPO / "envs" / f"{env}.yaml")
    for name in ("word2number", "pebble", "sympy", "latex2sympy2-llmmath"):
        assert name in pins, f"{env}: {name}"
    assert str(pins["antlr4-python3-runtime"]) == "4.11.1"

"""The conda envs the rules run in (envs/*.yaml) and their lock files (envs/<name>.lock.txt).

Offline checks only: every env has a lock, every pin of the yaml holds in its lock, and the envs that
must stay apart (vLLM's torch/transformers pins versus TRL's) are apart. The resolution itself against
the package index is `python envs/resolve.py` (a CI step: it needs the index), which re-resolves every
env with its lock's pins as constraints and must get exactly those pins; its comparison is tested here with a
stand-in for uv.
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


FAKE_UV = """#!/usr/bin/env python3
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_UV_ARGS"], "a") as f:
    f.write(json.dumps(args) + "\\n")
out = args[args.index("--output-file") + 1]
with open(out, "w") as f:
    f.write(os.environ["FAKE_UV_OUTPUT"])
"""


def _fake_check(tmp_path, monkeypatch, resolved: str):
    """check_one on a copy of envs/tables.yaml and its lock, with a uv that 'resolves' to ``resolved``."""
    import shutil

    for name in ("tables.yaml", "tables.lock.txt"):
        shutil.copy(REPO / "envs" / name, tmp_path / name)
    uv = tmp_path / "uv"
    uv.write_text(FAKE_UV)
    uv.chmod(0o755)
    monkeypatch.setenv("FAKE_UV_ARGS", str(tmp_path / "args.jsonl"))
    monkeypatch.setenv("FAKE_UV_OUTPUT", resolved)
    mod = _resolver()
    try:
        return mod.check_one(str(uv), tmp_path / "tables.yaml", "https://index.example/simple"), mod
    finally:
        calls = [__import__("json").loads(line) for line in (tmp_path / "args.jsonl").read_text().splitlines()]
        _fake_check.calls = calls


def test_check_constrains_to_the_lock_and_ignores_new_releases(tmp_path, monkeypatch):
    """--check passes the lock's pins as constraints (not an index date), so a resolver that honours them
    gives the lock back however the index has moved since."""
    lock = (REPO / "envs" / "tables.lock.txt").read_text()
    pins = "".join(line + "\n" for line in lock.splitlines() if re.match(r"^[A-Za-z0-9]", line))
    message, mod = _fake_check(tmp_path, monkeypatch, pins)
    assert "resolves to the pins of tables.lock.txt" in message
    args = _fake_check.calls[-1]
    assert "--exclude-newer" not in args
    constraints = Path(args[args.index("--constraint") + 1])
    assert not constraints.exists()  # a temporary file; its content is checked through the pins it gave


def test_check_names_what_differs_from_the_lock(tmp_path, monkeypatch):
    lock = (REPO / "envs" / "tables.lock.txt").read_text()
    pins = [line for line in lock.splitlines() if re.match(r"^[A-Za-z0-9]", line)]
    changed = [("pandas==9.9.9" if p.startswith("pandas==") else p) for p in pins] + ["six==1.17.0"]
    with pytest.raises(Exception, match=r"(?s)pandas: lock \S+, yaml resolves to 9\.9\.9.*six: lock -"):
        _fake_check(tmp_path, monkeypatch, "\n".join(changed) + "\n")


def test_lock_pins_normalise_names():
    mod = _resolver()
    assert mod.lock_pins("Foo_Bar==1.0\n    # via x\nbaz.qux==2\n# c==3\n") == {"foo-bar": "1.0", "baz-qux": "2"}

"""Training as several processes, through the code path a multi-GPU node takes: a Snakemake job with resource
``gpu`` = 2 becomes ``accelerate launch`` of the rule's script with 2 processes (bmc.training.launch), here CPU
processes standing in for the GPUs (``cpu_stand_in``), with the project's DDP and DeepSpeed ZeRO-3 configs.

Each job is written as the job file ``training_job`` writes and started with the command ``launch`` builds; the
one-process job runs the same script on the same job. Same global batch (per-device 4 x 2 processes, or 4 x 2
accumulation steps): the logged losses must agree to 1e-5 and the final weights to 1e-4; DPO-BMC with the
reference log-probs precomputed (each process precomputes on a shared on-disk copy, the marks come from each
process's own batches). A ZeRO-3 job killed after a checkpoint resumes from it and ends with the same model.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from bmc.io import write_jsonl
from bmc.settings import SFTSettings
from bmc.training.launch import Job, Names, launch
from bmc.training.preference import PreferenceSettings

pytest.importorskip("deepspeed")
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
CONFIGS = {"ddp": REPO / "configs/accelerate/multi_gpu.yaml", "zero3": REPO / "configs/accelerate/deepspeed_zero3.yaml"}
LOSS_TOL, WEIGHT_TOL = 1e-5, 1e-4


def pairs(n: int = 48) -> list[dict]:
    from test_convergence import arithmetic_pairs

    return arithmetic_pairs(n)


def job_file(work: Path, rule: str, inputs: dict, params: dict, gpus: int, every_steps: int = 0) -> Path:
    """The job file ``bmc.training.launch.training_job`` writes for a Snakemake job of ``rule``."""
    out, log = work / "out", work / "train.log"
    job = Job(rule, 1, {"study": "mp", "checkpoints": {"every_steps": every_steps}},
              input=Names(list(inputs.values()), inputs), output=Names([str(out)]), log=Names([str(log)]),
              params=Names([], params), wildcards=Names([], {"method": "dpo_bmc", "task": "t"}),
              resources=Names([], {"gpu": gpus}))
    path = work / "job.json"
    path.write_text(json.dumps(job.to_json()))
    return path


def start(work: Path, script: str, job: Path, mode: str) -> subprocess.Popen:
    """The job's processes: one (``single``) or two under ``accelerate launch`` (``ddp``, ``zero3``)."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    script_path = REPO / "scripts" / script
    if mode == "single":
        cmd = [sys.executable, str(script_path), "--job", str(job)]
    else:
        cmd, launch_env = launch(script_path, job, 2, CONFIGS[mode])
        env = {**launch_env, "PYTHONPATH": str(REPO / "src")}
    return subprocess.Popen(cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL to the launcher and every process under it, as a node failure or scancel does (torch's launcher
    starts its workers in process groups of their own, so killing the launcher's group would leave them)."""
    import psutil

    parent = psutil.Process(proc.pid)
    tree = [*parent.children(recursive=True), parent]
    for p in tree:
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    proc.wait()
    psutil.wait_procs(tree, timeout=30)


def run(work: Path, script: str, job: Path, mode: str) -> dict:
    proc = start(work, script, job, mode)
    output, _ = proc.communicate(timeout=900)
    (work / f"{mode}.out").write_text(output)
    assert proc.returncode == 0, output[-6000:]
    return json.loads((work / "out" / "run_info.json").read_text())["result"]


def preference_job(work: Path, model_dir: Path, gpus: int, every_steps: int = 0, n_pairs: int = 48,
                   epochs: int = 2) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    write_jsonl(work / "pairs.jsonl", pairs(n_pairs))
    settings = PreferenceSettings(beta=1.0, delta=2.5, learning_rate=1e-3, epochs=epochs, batch_size=4,
                                  global_batch_size=8, max_length=128, warmup_ratio=0.1, stopwords=["the", "is"],
                                  precompute_ref_log_probs=True, seed=0)
    method = {"label": "DPO-BMC", "pairs": "bridged", "bmc_weights": True, "loss": "sigmoid"}
    return job_file(work, "train_preference", {"sft": str(model_dir), "pairs": str(work / "pairs.jsonl")},
                    {"method": method, "settings": asdict(settings), "seeds": [0]}, gpus, every_steps)


def sft_job(work: Path, model_dir: Path, gpus: int) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    rows = [{"problem": p["problem"], "solution": p["y_w"], "answer": p["answer"]} for p in pairs(80)]
    write_jsonl(work / "train.jsonl", rows)
    settings = SFTSettings(epochs=1, batch_size=4, global_batch_size=8, learning_rate=1e-3, max_length=128, seed=0)
    return job_file(work, "train_sft", {"base": str(model_dir), "train": str(work / "train.jsonl")},
                    {"settings": asdict(settings), "style": "math"}, gpus)


def assert_same_run(one: dict, many: dict, one_dir: Path, many_dir: Path) -> None:
    assert many["processes"] == 2 and one["processes"] == 1
    assert one["global_batch_size"] == many["global_batch_size"] == 8
    logged = [(a, b) for a, b in zip(one["log_history"], many["log_history"], strict=True)]
    assert logged, "no logged step to compare"
    for a, b in logged:
        assert a["step"] == b["step"]
        assert abs(a["loss"] - b["loss"]) <= LOSS_TOL, (a, b)
        if "bmc/marked_fraction" in a:  # the marks of each process's own batches
            assert abs(a["bmc/marked_fraction"] - b["bmc/marked_fraction"]) <= 1e-6, (a, b)
    w1, w2 = load_file(one_dir / "out" / "model.safetensors"), load_file(many_dir / "out" / "model.safetensors")
    assert set(w1) == set(w2)
    worst = max((w1[k].float() - w2[k].float()).abs().max().item() for k in w1)
    assert worst <= WEIGHT_TOL, worst


@pytest.fixture(scope="module")
def single_preference(tmp_path_factory, model_dir):
    work = tmp_path_factory.mktemp("pref-single")
    return work, run(work, "train_preference.py", preference_job(work, model_dir, 1), "single")


@pytest.mark.parametrize("mode", ["ddp", "zero3"])
def test_two_process_preference_training_equals_one_process(tmp_path, model_dir, single_preference, mode):
    one_dir, one = single_preference
    many = run(tmp_path, "train_preference.py", preference_job(tmp_path, model_dir, 2), mode)
    assert_same_run(one, many, one_dir, tmp_path)
    if mode == "zero3":  # the model ZeRO-3 saved (gathered from both processes) loads and answers without DeepSpeed
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tok = AutoTokenizer.from_pretrained(tmp_path / "out")
        ids = tok(["Bob has 12 coins. Bob gets 3 more coins.", "Bob has 15 coins."], return_tensors="pt",
                  padding=True)
        outs = []
        for folder in (one_dir, tmp_path):
            model = AutoModelForCausalLM.from_pretrained(folder / "out").eval()
            with torch.no_grad():
                outs.append(model.generate(**ids, max_new_tokens=8, do_sample=False, pad_token_id=tok.pad_token_id))
        assert torch.equal(outs[0], outs[1])


@pytest.mark.parametrize("mode", ["ddp", "zero3"])
def test_two_process_sft_equals_one_process(tmp_path, model_dir, mode):
    one_dir, many_dir = tmp_path / "one", tmp_path / "many"
    one = run(one_dir, "train_sft.py", sft_job(one_dir, model_dir, 1), "single")
    many = run(many_dir, "train_sft.py", sft_job(many_dir, model_dir, 2), mode)
    assert_same_run(one, many, one_dir, many_dir)


def test_a_zero3_job_killed_after_a_checkpoint_resumes_from_it(tmp_path, model_dir):
    """SIGKILL to the whole job (as a node failure) once a checkpoint is complete; the rerun of the same job
    resumes from the last complete checkpoint and ends with the model of an uninterrupted run."""
    whole = tmp_path / "whole"
    uninterrupted = run(whole, "train_preference.py", preference_job(whole, model_dir, 2, every_steps=4,
                                                                     n_pairs=96), "zero3")
    work = tmp_path / "killed"
    job = preference_job(work, model_dir, 2, every_steps=4, n_pairs=96)
    proc = start(work, "train_preference.py", job, "zero3")
    checkpoints = work / "results" / "mp" / "checkpoints" / "train_preference"
    deadline = time.monotonic() + 600
    while not any(checkpoints.rglob("checkpoint-4/trainer_state.json")):
        assert proc.poll() is None, "the job ended before its first checkpoint"
        assert time.monotonic() < deadline, "no checkpoint within 10 minutes"
        time.sleep(0.02)
    kill_tree(proc)
    assert not (work / "out" / "run_info.json").exists(), "the job finished before it was killed"
    resumed = run(work, "train_preference.py", job, "zero3")
    assert resumed["resumed_from"] and "checkpoint-" in resumed["resumed_from"], (work / "zero3.out").read_text()[-4000:]
    assert resumed["steps"] == uninterrupted["steps"]
    w1, w2 = load_file(whole / "out" / "model.safetensors"), load_file(work / "out" / "model.safetensors")
    assert max((w1[k].float() - w2[k].float()).abs().max().item() for k in w1) <= WEIGHT_TOL

"""Shared fixtures: a tiny tokenizer and a tiny random Llama built offline in seconds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bmc.runtime import OFFLINE_ENV

os.environ.update(OFFLINE_ENV)

REPO = Path(__file__).resolve().parents[1]
# Real files from the official repository, beside the checkout on the build machines; tests that use
# them skip cleanly where they are absent.
OFFICIAL_DATA = Path(os.environ.get("BMC_OFFICIAL_DATA", REPO.parent / "shared" / "data" / "bmc-official"))


def official_file(relative: str) -> Path:
    path = OFFICIAL_DATA / relative
    if not path.exists():
        pytest.skip(f"official data file not available: {path}")
    return path


@pytest.fixture(scope="session")
def tokenizer():
    from bmc.data.synthetic import TaskSizes, generate_task, pretraining_corpus
    from bmc.models.tokenizer import train_tokenizer
    from bmc.templates import eval_prompt

    qa = generate_task("multiple_choice", TaskSizes(200, 20), seed=1)
    math = generate_task("arithmetic", TaskSizes(200, 20), seed=2)
    texts = pretraining_corpus(0, 500, set())
    texts += [eval_prompt(r["problem"], "qa") + r["solution"] for r in qa["train"]]
    texts += [eval_prompt(r["problem"], "math") + r["solution"] for r in math["train"]]
    return train_tokenizer(texts, vocab_size=400)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory, tokenizer):
    """A saved random tiny Llama with the tokenizer (as the workflow's model folders are)."""
    import torch

    from bmc.models.pretrain import ModelShape, build_model

    torch.manual_seed(0)
    model = build_model(tokenizer, ModelShape(hidden_size=32, num_layers=2, num_heads=2, intermediate_size=64,
                                              max_position_embeddings=256))
    path = tmp_path_factory.mktemp("model")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def micro_study(tmp_path_factory):
    """A working folder in which the micro study (configs/micro.yaml) has run to the end, shared by the
    end-to-end tests (the study, its report, the sweeps on top of it).

    ``BMC_MICRO_STUDY``: a folder where the micro study already ran (CI: through SLURM, cluster/
    micro_through_slurm.sh) is copied instead, its Snakemake records included; the run here must then find
    nothing to do, so the tests check those results and that Snakemake sees them complete and up to date."""
    import shutil

    from workflow_api import plan, run

    workdir = tmp_path_factory.mktemp("micro")
    done = os.environ.get("BMC_MICRO_STUDY")
    if done:
        shutil.copytree(done, workdir, symlinks=True, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("slurm_logs", "locks", "incomplete"))
        pending = plan(workdir, [REPO / "configs" / "micro.yaml"])
        assert not pending, f"the micro study in {done} is not complete here: {sorted(set(pending.values()))}"
    run(workdir, [REPO / "configs" / "micro.yaml"])
    return workdir

"""Checkpoint folders: resumed when the job is the same, discarded when its settings or inputs changed."""

from __future__ import annotations

import os

from bmc.checkpoints import Checkpointing, job_fingerprint


class FakeTrainer:
    def __init__(self):
        self.resumed_from = "not called"

    def train(self, resume_from_checkpoint=None):
        self.resumed_from = resume_from_checkpoint
        return "result"


def _leave_checkpoint(ckpt: Checkpointing, step: int) -> None:
    """What a killed run leaves: the fingerprint stamp and a Trainer checkpoint folder."""
    ckpt.train(FakeTrainer())
    folder = os.path.join(ckpt.directory, f"checkpoint-{step}")
    os.makedirs(folder)
    open(os.path.join(folder, "trainer_state.json"), "w").write("{}")


def test_same_job_resumes_and_changed_settings_start_over(tmp_path):
    data = tmp_path / "pairs.jsonl"
    data.write_text("{}\n")
    directory = str(tmp_path / "ckpt")
    fp = job_fingerprint({"settings": {"learning_rate": 1e-5}}, [str(data)])
    _leave_checkpoint(Checkpointing(directory, 5, fp), 10)

    trainer = FakeTrainer()
    result, last = Checkpointing(directory, 5, fp).train(trainer)
    assert result == "result" and last.endswith("checkpoint-10") and trainer.resumed_from == last

    other = job_fingerprint({"settings": {"learning_rate": 2e-5}}, [str(data)])
    trainer = FakeTrainer()
    _, last = Checkpointing(directory, 5, other).train(trainer)
    assert last is None and trainer.resumed_from is None
    assert not (tmp_path / "ckpt" / "checkpoint-10").exists()


def test_a_changed_input_file_changes_the_fingerprint(tmp_path):
    data = tmp_path / "model"
    data.mkdir()
    (data / "weights.bin").write_text("a")
    before = job_fingerprint({"x": 1}, [str(data)])
    assert job_fingerprint({"x": 1}, [str(data)]) == before
    os.utime(data / "weights.bin", (1, 1))
    assert job_fingerprint({"x": 1}, [str(data)]) != before


def test_disabled_checkpointing_never_touches_the_folder(tmp_path):
    trainer = FakeTrainer()
    _, last = Checkpointing(str(tmp_path / "ckpt"), 0, "fp").train(trainer)
    assert last is None and trainer.resumed_from is None and not (tmp_path / "ckpt").exists()


def test_a_checkpoint_cut_off_mid_save_is_not_resumed(tmp_path):
    directory = str(tmp_path / "ckpt")
    ckpt = Checkpointing(directory, 5, "fp")
    _leave_checkpoint(ckpt, 10)
    partial = tmp_path / "ckpt" / "checkpoint-15"
    partial.mkdir()
    (partial / "model.safetensors").write_text("half")  # killed before trainer_state.json was written
    trainer = FakeTrainer()
    _, last = Checkpointing(directory, 5, "fp").train(trainer)
    assert last.endswith("checkpoint-10") and trainer.resumed_from == last and not partial.exists()

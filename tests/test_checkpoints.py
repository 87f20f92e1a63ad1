"""Checkpoint folders: resumed when the job is the same, discarded when its settings or inputs changed."""

from __future__ import annotations

import os

from bmc.training.checkpoints import Checkpointing, job_fingerprint


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


def test_sigterm_saves_a_checkpoint_and_the_resubmitted_job_resumes_from_it(tmp_path):
    """What SLURM does at a job's time limit or on preemption: SIGTERM mid-training. The job saves a
    checkpoint at the end of that step and exits with 128 + 15; the resubmitted job resumes there and
    trains only the remaining steps (a real Trainer, a tiny model: a few seconds on CPU)."""
    import signal

    import pytest
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Trainer, TrainerCallback, TrainingArguments

    from bmc.training.checkpoints import TrainingStopped

    torch.manual_seed(0)
    rows = [{"input_ids": torch.randint(0, 32, (8,))} for _ in range(32)]
    rows = [{**r, "labels": r["input_ids"].clone()} for r in rows]
    steps_run = []

    class Steps(TrainerCallback):
        def __init__(self, kill_at=None):
            self.kill_at = kill_at

        def on_step_begin(self, args, state, control, **kwargs):
            if state.global_step + 1 == self.kill_at:
                os.kill(os.getpid(), signal.SIGTERM)  # arrives during this step, as the scheduler's would

        def on_step_end(self, args, state, control, **kwargs):
            steps_run.append(state.global_step)

    def trainer(ckpt, kill_at=None):
        model = LlamaForCausalLM(LlamaConfig(vocab_size=32, hidden_size=8, intermediate_size=16, num_hidden_layers=1,
                                             num_attention_heads=1, num_key_value_heads=1,
                                             max_position_embeddings=16))
        args = TrainingArguments(**ckpt.trainer_args(tmp_path / "scratch"), max_steps=8, per_device_train_batch_size=4,
                                 learning_rate=1e-3, report_to=[], use_cpu=True, logging_steps=100, seed=0,
                                 dataloader_num_workers=0, disable_tqdm=True)
        return Trainer(model=model, args=args, train_dataset=rows, callbacks=[Steps(kill_at)])

    directory = tmp_path / "ckpt"
    ckpt = Checkpointing(str(directory), 100, "fp")  # no periodic save within 8 steps: only the signal saves
    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(TrainingStopped) as stopped:
        ckpt.train(trainer(ckpt, kill_at=3))
    assert stopped.value.code == 128 + signal.SIGTERM and stopped.value.step == 3
    assert signal.getsignal(signal.SIGTERM) is previous  # the handler is removed again
    assert (directory / "checkpoint-3" / "trainer_state.json").is_file() and steps_run == [1, 2, 3]

    steps_run.clear()
    resumed = trainer(Checkpointing(str(directory), 100, "fp"))
    _, last = Checkpointing(str(directory), 100, "fp").train(resumed)
    assert last == str(directory / "checkpoint-3")
    assert steps_run == [4, 5, 6, 7, 8] and resumed.state.global_step == 8

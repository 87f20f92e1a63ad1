"""Cluster execution: per-rule resources from the study config, conda envs per rule, the SLURM profile, the
sbatch flags snakemake-executor-plugin-slurm builds for a GPU rule (no cluster needed), multi-GPU launch."""

from __future__ import annotations

import json

import shlex
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from snakemake.api import SnakemakeApi
from snakemake.settings.types import OutputSettings, Quietness

from bmc.cluster.resources import check_gpus, job_resources, unknown_rules
from workflow_api import REPO, _workflow

TINY, MICRO = REPO / "configs/tiny.yaml", REPO / "configs/micro.yaml"
PAPER_SIZING = REPO / "configs/resources/gpu4x80gb.yaml"
ENV_FILES = sorted((REPO / "envs").glob("*.yaml"))
TRAINING_RULES = ("train_sft", "train_preference", "train_delta", "train_split")


def _rules(configfiles):
    """The workflow's rules (Snakemake API) for a study config."""
    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        workflow = _workflow(api, tempfile.mkdtemp(), configfiles, None).dag().workflow_api._workflow
        return list(workflow.rules)


@pytest.fixture(scope="module")
def micro_rules():
    return _rules([MICRO])


def _resource(rule, name, **wildcards):
    """A rule's resource for one job's wildcards (Snakemake's Resource, evaluated as a job would)."""
    res = rule.resources[name]
    return res.evaluate(SimpleNamespace(**wildcards)).value if res.is_evaluable() else res.value


# ------------------------------------------------------------------------------------------- bmc.cluster.resources
def test_rule_entry_overrides_the_default_entry():
    config = {"resources": {"default": {"mem_mb": 4000, "runtime": 60},
                            "train_sft": {"gpu": 4, "cpus_per_gpu": 8, "runtime": 600}}}
    assert job_resources(config, "train_sft") == {"gpu": 4, "cpus_per_gpu": 8, "mem_mb": 4000, "runtime": 600}
    assert job_resources(config, "table1") == {"gpu": 0, "mem_mb": 4000, "runtime": 60}
    assert job_resources({}, "anything") == {"gpu": 0}
    # a job that uses no GPU (bridging through an API) loses the GPU and what only a GPU job means
    assert job_resources(config, "train_sft", uses_gpu=False) == {"gpu": 0, "mem_mb": 4000, "runtime": 600}


@pytest.mark.parametrize("bad", [-1, 1.5, "4", True])
def test_a_bad_gpu_count_names_the_entry(bad):
    with pytest.raises(ValueError, match=r"resources\.train_sft\.gpu"):
        job_resources({"resources": {"train_sft": {"gpu": bad}}}, "train_sft")


def test_more_gpus_than_visible_devices_is_refused_with_where_the_number_comes_from():
    check_gpus(1, 0, "train_sft")  # one GPU or none: trains in the job's own process, on what there is
    check_gpus(4, 4, "train_sft")
    with pytest.raises(RuntimeError, match=r"4 GPUs.*0 CUDA device.*resources\.train_sft\.gpu"):
        check_gpus(4, 0, "train_sft")


def test_every_rule_has_a_conda_env_file_that_parses():
    assert {p.stem for p in ENV_FILES} >= {"training", "inference", "evaluation", "judging", "tables"}
    for path in ENV_FILES:
        env = yaml.safe_load(path.read_text())
        assert set(env) >= {"name", "channels", "dependencies"}, path
        assert isinstance(env["channels"], list) and env["channels"], path
        deps = env["dependencies"]
        assert any(str(d).startswith("python") for d in deps), path
        pip = [d for d in deps if isinstance(d, dict)]
        assert all(set(d) == {"pip"} and d["pip"] for d in pip), path
    # vLLM's env has its own torch: the training pins must not leak into it
    inference = yaml.safe_load((REPO / "envs/inference.yaml").read_text())["dependencies"][-1]["pip"]
    assert any(d.startswith("vllm==") for d in inference) and not any(d.startswith("torch==") for d in inference)


@pytest.mark.parametrize("configfiles", [[TINY], [MICRO]], ids=["tiny", "micro"])
def test_every_rule_names_an_existing_conda_env(configfiles):
    """Through the Snakemake API: each rule with an action has `conda:` naming a file under envs/."""
    missing, wrong = [], []
    for rule in _rules(configfiles):
        if rule.norun:  # target rules (all, sweeps) run nothing
            continue
        if not rule.conda_env:
            missing.append(rule.name)
            continue
        path = (Path(rule.basedir) / str(rule.conda_env)).resolve()
        if not path.is_file() or path.parent != REPO / "envs":
            wrong.append((rule.name, str(rule.conda_env)))
    assert not missing, f"rules without a conda env: {missing}"
    assert not wrong, f"rules naming a missing env file: {wrong}"


def test_tiny_and_micro_runs_never_ask_for_more_than_one_gpu(micro_rules):
    """Locally the job's gpu resource decides whether training runs under accelerate launch (gpu > 1)."""
    for configfiles, rules in (([TINY], _rules([TINY])), ([MICRO], micro_rules)):
        for rule in rules:
            if rule.norun:
                continue
            gpus = _resource(rule, "gpu", bset="main", task="qa")
            assert isinstance(gpus, int) and gpus <= 1, (configfiles, rule.name, gpus)
    # the micro study's SFT jobs ask for CI's one fake SLURM GPU; tiny asks for none
    assert {r.name: _resource(r, "gpu") for r in micro_rules if r.name == "train_sft"} == {"train_sft": 1}


def test_the_4x80gb_sizing_names_only_rules_of_the_workflow_and_trains_on_4_gpus(micro_rules):
    sizing = yaml.safe_load(PAPER_SIZING.read_text())
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as per_seed:  # train_seed, evaluate_seed: one job per seed
        yaml.safe_dump({"seeds_in_one_job": False, "models_in_one_job": False}, per_seed)
        per_seed.flush()
        per_seed_rules = _rules([MICRO, per_seed.name])
    assert not unknown_rules(sizing, {r.name for r in [*micro_rules, *per_seed_rules]})
    for rule in TRAINING_RULES:
        res = job_resources(sizing, rule)
        assert res["gpu"] == 4 and res["cpus_per_gpu"] >= 1 and res["mem_mb"] >= 100_000 and res["runtime"] > 0
    for rule in ("evaluate", "sample_losing", "heldout_pairs"):
        assert job_resources(sizing, rule)["gpu"] == 1
    for rule in ("table1", "figure_table1", "synthetic_task", "cost_table"):
        assert job_resources(sizing, rule)["gpu"] == 0


def test_bridging_asks_for_a_gpu_only_with_a_local_editor_model():
    rules = {r.name: r for r in _rules([MICRO, PAPER_SIZING])}
    assert _resource(rules["bridge_pairs"], "gpu", bset="main", task="qa") == 0  # micro: the rule-based editor
    assert _resource(rules["train_preference"], "gpu") == 4
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as overlay:
        yaml.safe_dump({"editors": {"local": {"kind": "transformers", "model": "results/micro/models/sft/math"}},
                        "bridging": {"editor": "local"}}, overlay)
        overlay.flush()
        rules = {r.name: r for r in _rules([MICRO, PAPER_SIZING, overlay.name])}
    assert _resource(rules["bridge_pairs"], "gpu", bset="main", task="qa") == 4  # sized for a 70B editor


def test_deepspeed_zero3_config_of_multi_gpu_training():
    from bmc.training.launch import DEFAULT_ACCELERATE_CONFIG, accelerate_config

    path = accelerate_config({}, REPO)
    assert path == REPO / DEFAULT_ACCELERATE_CONFIG
    cfg = yaml.safe_load(path.read_text())
    assert cfg["distributed_type"] == "DEEPSPEED" and cfg["deepspeed_config"]["zero_stage"] == 3
    assert cfg["mixed_precision"] == "bf16" and cfg["num_machines"] == 1 and not cfg["use_cpu"]


# --------------------------------------------------------------------------------------------- profiles
def test_slurm_profile_checks_status_with_squeue_and_default_profile_does_not_override_it():
    slurm = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    default = yaml.safe_load((REPO / "profiles/default/config.yaml").read_text())
    assert slurm["executor"] == "slurm" and slurm["slurm-status-command"] == "squeue"
    assert slurm["rerun-incomplete"] is True and slurm["restart-times"] >= 1
    assert {"mem_mb", "runtime"} <= set(slurm["default-resources"])
    # profiles/default is applied next to --profile profiles/slurm and wins per key
    assert not set(default) & set(slurm), set(default) & set(slurm)
    assert "slurm_account" not in str(slurm)  # validated with sacctmgr: needs accounting


# ------------------------------------------------------------------------ sbatch flags, without a cluster
def _sbatch(rule_name: str, resources: dict, threads: int = 1) -> list[str]:
    """The sbatch call snakemake-executor-plugin-slurm builds for a job (its own functions, a stand-in job)."""
    submit = pytest.importorskip("snakemake_executor_plugin_slurm.submit_string")
    from snakemake_executor_plugin_slurm.utils import set_gres_string

    class Res(dict):
        __getattr__ = dict.__getitem__

    job = SimpleNamespace(resources=Res(resources), threads=threads, name=rule_name, is_group=lambda: False)
    params = {"run_uuid": "uuid", "slurm_logfile": "log/%j.log", "comment_str": f"rule_{rule_name}",
              "account": "", "partition": "-p gpu", "workdir": "/work"}
    return shlex.split(submit.get_submit_command(job, params) + set_gres_string(job))


def _job_resources_as_snakemake_sees_them(rule_name, configfiles):
    """The resources of one job of ``rule_name`` after Snakemake evaluated them (no cluster, no run)."""
    rules = {r.name: r for r in _rules(configfiles)}
    rule = rules[rule_name]
    out = {name: _resource(rule, name, task="qa", method="dpo", bset="main") for name in rule.resources
           if not name.startswith("_") and name != "tmpdir"}
    return out, rule


def test_sbatch_flags_of_a_4_gpu_training_job():
    res, _ = _job_resources_as_snakemake_sees_them("train_preference", [MICRO, PAPER_SIZING])
    argv = _sbatch("train_preference", res)
    assert "--gpus=4" in argv and "--cpus-per-gpu=8" in argv
    assert argv[argv.index("--mem") + 1] == "400000" and argv[argv.index("-t") + 1] == "720"
    assert not any(a.startswith("--ntasks") for a in argv)  # one accelerate launcher, not 4 tasks
    assert not any(a.startswith("--cpus-per-task") for a in argv)


def test_sbatch_flags_of_a_one_gpu_job_and_of_a_cpu_job():
    argv = _sbatch("evaluate", job_resources(yaml.safe_load(PAPER_SIZING.read_text()), "evaluate"))
    assert "--gpus=1" in argv and "--cpus-per-gpu=8" in argv
    assert argv[argv.index("--mem") + 1] == "64000" and argv[argv.index("-t") + 1] == "180"
    argv = _sbatch("table1", job_resources(yaml.safe_load(PAPER_SIZING.read_text()), "table1"), threads=2)
    assert not any(a.startswith("--gpus") or a.startswith("--gres") for a in argv)
    assert "--ntasks=1" in argv and "--cpus-per-task=2" in argv and argv[argv.index("--mem") + 1] == "8000"


def test_sbatch_flags_of_the_micro_study_fit_the_ci_cluster():
    """CI's localhost cluster has one fake GPU: the micro study's SFT job asks for exactly that."""
    res, _ = _job_resources_as_snakemake_sees_them("train_sft", [MICRO])
    argv = _sbatch("train_sft", res)
    assert "--gpus=1" in argv and "--cpus-per-gpu=1" in argv and argv[argv.index("-t") + 1] == "20"


def test_a_multi_gpu_training_job_without_the_gpus_fails_before_launching(tmp_path, monkeypatch):
    """The tiny study on a laptop with a sizing of 4 GPUs: a clear error, not 4 processes on the CPU."""
    import bmc.training.launch as launch

    monkeypatch.setattr(launch, "_exec_logged", lambda *a: pytest.fail("launched"))
    monkeypatch.setattr("torch.cuda.device_count", lambda: 0)
    smk = SimpleNamespace(resources={"gpu": 4}, rule="train_sft", log=[str(tmp_path / "x.log")], config={})
    with pytest.raises(RuntimeError, match="asks for 4 GPUs"):
        launch.training_job(smk, str(REPO / "scripts/train_sft.py"))
    assert launch.training_job(SimpleNamespace(resources={"gpu": 1}), "script.py").resources == {"gpu": 1}


def test_cpu_processes_stand_in_for_gpus_only_when_the_study_asks(tmp_path, monkeypatch):
    """distributed.cpu_processes: the job's processes run on the CPU where no CUDA device exists, through the same
    accelerate launch, with the CPU adjustments written into the job's own accelerate config."""
    import yaml

    import bmc.training.launch as launch

    launched = {}
    monkeypatch.setattr(launch, "_exec_logged", lambda cmd, log, env: launched.update(cmd=cmd, env=env))
    monkeypatch.setattr("torch.cuda.device_count", lambda: 0)
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    smk = SimpleNamespace(resources={"gpu": 2}, rule="train_preference", log=[str(tmp_path / "x.log")],
                          config={"study": "s", "distributed": {"cpu_processes": True}}, input=[], output=[],
                          params=[], wildcards=[], threads=1)
    monkeypatch.setattr(launch.Job, "from_snakemake", classmethod(lambda cls, smk: cls("r", 1, {})))
    launch.training_job(smk, str(REPO / "scripts/train_preference.py"))
    cmd, env = launched["cmd"], launched["env"]
    assert cmd[cmd.index("--num_processes") + 1] == "2"
    config = yaml.safe_load(open(cmd[cmd.index("--config_file") + 1]))
    assert config["distributed_type"] == "DEEPSPEED" and "mixed_precision" not in config
    ds = json.load(open(config["deepspeed_config"]["deepspeed_config_file"]))
    assert ds["zero_optimization"]["stage"] == 3 and ds["zero_optimization"]["stage3_param_persistence_threshold"] == 0
    assert env["DS_ACCELERATOR"] == "cpu" and env["BMC_CPU_STAND_IN"] == "1"
    ddp, ddp_env, extra = launch.cpu_stand_in(REPO / "configs/accelerate/multi_gpu.yaml", tmp_path / "j.json")
    assert extra == ["--multi_gpu"] and ddp_env["ACCELERATE_USE_CPU"] == "true"
    assert yaml.safe_load(ddp.read_text())["mixed_precision"] == "no"


def test_the_accelerate_config_is_a_study_setting(tmp_path):
    from workflow_api import plan

    from bmc.training.launch import accelerate_config

    other = tmp_path / "zero2.yaml"
    other.write_text("distributed_type: DEEPSPEED\n")
    assert accelerate_config({"distributed": {"accelerate_config": str(other)}}, REPO) == other
    with pytest.raises(FileNotFoundError, match="distributed.accelerate_config: .*nope.yaml does not exist"):
        accelerate_config({"distributed": {"accelerate_config": "nope.yaml"}}, REPO)
    # the schema takes the block (a study config may set it) and nothing else under it
    plan(tmp_path, [REPO / "configs" / "micro.yaml"], config={"distributed": {"accelerate_config": str(other)}},
         targets=("results/micro/data/qa/train.jsonl",))
    with pytest.raises(Exception, match="accelerate_confg"):
        plan(tmp_path, [REPO / "configs" / "micro.yaml"], config={"distributed": {"accelerate_confg": "x"}})

"""The study config (``configs/*.yaml``, validated by ``configs/schema.yaml``) as typed settings.

The JSON schema checks keys and types before any job starts; :func:`check_study` adds the checks a schema
cannot express (a test set naming a question type its generator does not produce, a method id that
collides with a model name). Per-task blocks override the study-wide ones: ``tasks.<t>.sft`` over ``sft``
and ``tasks.<t>.preference`` over ``preference``.
"""

from __future__ import annotations

from dataclasses import fields

from bmc.generation import DecodingSettings
from bmc.preference import MethodSpec, PreferenceSettings
from bmc.pretrain import ModelShape, PretrainSettings
from bmc.sampling import SamplingSettings
from bmc.sft import SFTSettings
from bmc.synthetic import TaskSizes

GENERATOR_TYPES = {
    "multiple_choice": {"largest", "smallest", "category", "fact"},
    "arithmetic": {"1-step", "2-step", "3-step"},
}
RESERVED_MODEL_NAMES = {"base", "sft"}


class ConfigError(ValueError):
    pass


def _build(cls, values: dict, where: str):
    known = {f.name for f in fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown)}; known: {sorted(known)}")
    return cls(**values)


def check_study(config: dict) -> None:
    for task, tc in config["tasks"].items():
        produced = GENERATOR_TYPES[tc["generator"]]
        for name, types in tc["test_sets"].items():
            bad = set(types) - produced
            if bad:
                raise ConfigError(f"tasks.{task}.test_sets.{name}: {sorted(bad)} are not types of generator "
                                  f"{tc['generator']!r} (it makes {sorted(produced)})")
        covered = {t for types in tc["test_sets"].values() for t in types}
        drawn = set(tc.get("types") or produced)
        if drawn - covered:
            raise ConfigError(f"tasks.{task}.test_sets: question types {sorted(drawn - covered)} are generated but "
                              "belong to no test set")
    for method in config["methods"]:
        if method in RESERVED_MODEL_NAMES:
            raise ConfigError(f"methods.{method}: {sorted(RESERVED_MODEL_NAMES)} are reserved model names")
    labels = [m["label"] for m in config["methods"].values()]
    if "SFT" in labels or len(set(labels)) != len(labels):
        raise ConfigError(f"methods: labels must be unique and not 'SFT', got {labels}")


def task_sizes(config: dict, task: str) -> TaskSizes:
    tc = config["tasks"][task]
    return TaskSizes(train=tc["train_size"], test=tc["test_size"])


def model_shape(config: dict) -> ModelShape:
    bm = dict(config["base_model"])
    bm.pop("pretrain")
    return _build(ModelShape, bm, "base_model")


def pretrain_settings(config: dict) -> PretrainSettings:
    return _build(PretrainSettings, {**config["base_model"]["pretrain"], "seed": config["seed"],
                                     "precision": config["precision"]}, "base_model.pretrain")


def sft_settings(config: dict, task: str) -> SFTSettings:
    values = {**config["sft"], **config["tasks"][task].get("sft", {}), "precision": config["precision"]}
    values.setdefault("seed", config["seed"])
    return _build(SFTSettings, values, f"sft / tasks.{task}.sft")


def sampling_settings(config: dict) -> SamplingSettings:
    values = {k: v for k, v in config["sampling"].items() if k != "batch_size"}
    values.setdefault("seed", config["seed"])
    return _build(SamplingSettings, values, "sampling")


def preference_settings(config: dict, task: str) -> PreferenceSettings:
    values = {**config["preference"], **config["tasks"][task].get("preference", {}),
              "precision": config["precision"]}
    values.setdefault("seed", config["seed"])
    return _build(PreferenceSettings, values, f"preference / tasks.{task}.preference")


def method_spec(config: dict, method: str) -> MethodSpec:
    return _build(MethodSpec, config["methods"][method], f"methods.{method}")


def eval_decoding(config: dict) -> DecodingSettings:
    return DecodingSettings(max_new_tokens=config["evaluation"]["max_new_tokens"])

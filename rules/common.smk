# Config checks, paths and wildcard constraints shared by all rule files. No rules here.
import os

from dataclasses import asdict

from bmc.config import (
    check_study,
    method_spec,
    model_shape,
    preference_settings,
    pretrain_settings,
    sampling_settings,
    sft_settings,
)
from bmc.runtime import OFFLINE_ENV

# No job may reach the network (jobs inherit this environment).
os.environ.update(OFFLINE_ENV)

check_study(config)

STUDY = config["study"]
RESULTS = f"results/{STUDY}"
TASKS = list(config["tasks"])
METHODS = list(config["methods"])
MODELS = ["sft", *METHODS]


wildcard_constraints:
    task="|".join(TASKS),
    method="|".join(METHODS),
    model="|".join(MODELS),


def logfile(rule, name="{task}"):
    return f"{RESULTS}/logs/{rule}/{name}.log"


def benchfile(rule, name="{task}"):
    return f"{RESULTS}/benchmarks/{rule}/{name}.tsv"


def table1_notes():
    pref = config["preference"]
    per_task = "; ".join(
        f"{c['label']}: beta {preference_settings(config, t).beta}, delta {preference_settings(config, t).delta}"
        for t, c in config["tasks"].items()
    )
    return [
        f"Scores: official extraction and comparison, greedy decoding, Alpaca preamble {'on' if config['evaluation']['preamble'] else 'off'}; "
        f"the corrected (normalised) score is in each scores.json.",
        f"Preference training: {per_task}; reference weights: {pref['reference_weights']}; "
        f"stopword rule: {pref['stopword_rule']}; editor: {config['bridging']['editor']}.",
        f"Each cell comes from {RESULTS}/eval/<task>/<model>/scores.json (rule evaluate).",
    ]


def model_dir(wildcards):
    """Directory of the model that is evaluated: the SFT model or a preference-trained one."""
    if wildcards.model == "sft":
        return f"{RESULTS}/models/sft/{wildcards.task}"
    return f"{RESULTS}/models/{wildcards.model}/{wildcards.task}"

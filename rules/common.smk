# Config checks, paths and wildcard constraints shared by all rule files. No rules here.
import os

from dataclasses import asdict

from bmc.config import (
    analysis_settings,
    bridge_settings,
    bridged_set,
    bridged_set_names,
    check_study,
    editor_spec,
    kl_logged,
    method_bridged_set,
    uses_nltk_stopwords,
    prompt_template_path,
    method_spec,
    model_shape,
    preference_settings,
    pretrain_settings,
    sampling_settings,
    sft_settings,
)
from bmc.costs import PRICE_KEY
from bmc.cluster import job_resources
from bmc.runtime import OFFLINE_ENV

# No job may reach the network (jobs inherit this environment).
os.environ.update(OFFLINE_ENV)
# Jobs import bmc from this checkout, also in the per-rule conda envs of --sdm conda (third-party packages only).
_SRC = os.path.join(workflow.basedir, "src")
if _SRC not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_SRC, os.environ.get("PYTHONPATH")) if p)


def rule_resources(rule):
    """Job resources of a rule (GPUs, CPUs per GPU, memory, runtime), sized by the study config's
    `resources` block (bmc.cluster); --set-resources in a profile still overrides them."""
    return job_resources(config, rule)


def bridge_resources():
    """bridge_pairs: its entry's GPUs only for an editor that runs a model in the job (not an API, not rules)."""
    res = job_resources(config, "bridge_pairs")
    gpus = res["gpu"]
    return {**res, "gpu": lambda wc: gpus if editor_spec(config, wc.bset)["kind"] in ("transformers", "vllm") else 0}

check_study(config)

STUDY = config["study"]
RESULTS = f"results/{STUDY}"
TASKS = list(config["tasks"])
METHODS = list(config["methods"])
MODELS = ["sft", *METHODS]
BRIDGED_SETS = bridged_set_names(config)


wildcard_constraints:
    task="|".join(TASKS),
    method="|".join(METHODS),
    model="|".join(MODELS),
    bset="|".join(BRIDGED_SETS),


def logfile(rule, name="{task}"):
    return f"{RESULTS}/logs/{rule}/{name}.log"


def benchfile(rule, name="{task}"):
    return f"{RESULTS}/benchmarks/{rule}/{name}.tsv"


def table_notes():
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
    ]


def bridge_inputs(wildcards):
    """The sampled pairs, the tokenizer for edit distances, and the prompt template of an LLM editor."""
    inputs = {
        "pairs": f"{RESULTS}/pairs/{wildcards.task}/sampled.jsonl",
        "tokenizer": f"{RESULTS}/models/sft/{wildcards.task}",
    }
    template = prompt_template_path(config, wildcards.task, wildcards.bset, workflow.basedir)
    if template:
        inputs["template"] = template
    spec = editor_spec(config, wildcards.bset)
    if spec["kind"] in ("transformers", "vllm") and spec["model"].startswith(f"{RESULTS}/"):
        inputs["editor_model"] = spec["model"]  # a model this workflow builds: bridge after it exists
    return inputs


def editor_cache_path(bset):
    cache_dir = bridged_set(config, bset).get("cache_dir") or f"{RESULTS}/cache/bridging"
    return f"{cache_dir}/{bridged_set(config, bset)['editor']}.jsonl"


def bridged_pairs(wildcards):
    """The bridged set a preference method trains on."""
    bset = method_bridged_set(config, wildcards.method)
    return f"{RESULTS}/pairs/{wildcards.task}/bridged/{bset}.jsonl"


def training_inputs(task, method, pairs):
    """Inputs of a preference training job: the task's SFT model, its pair file, the NLTK stopword list if
    the method uses it, and the held-out chosen responses if it logs the KL curve."""
    inputs = {"sft": f"{RESULTS}/models/sft/{task}", "pairs": pairs}
    if uses_nltk_stopwords(config, task, method):
        inputs["stopwords"] = rules.nltk_stopwords.output[0]
    if kl_logged(config, task, method):
        inputs["heldout_chosen"] = f"{RESULTS}/heldout/{task}/chosen.jsonl"
    return inputs


def preference_inputs(wildcards):
    return training_inputs(wildcards.task, wildcards.method, bridged_pairs(wildcards))


def model_dir(wildcards):
    """Directory of the model that is evaluated: the SFT model or a preference-trained one."""
    if wildcards.model == "sft":
        return f"{RESULTS}/models/sft/{wildcards.task}"
    return f"{RESULTS}/models/{wildcards.model}/{wildcards.task}"

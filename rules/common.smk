# Config checks, paths and wildcard constraints shared by all rule files. No rules here.
import os

from dataclasses import asdict, replace

from bmc.config import (
    PAIRS,
    SFT_DATA,
    SYNTHETIC,
    analysis_settings,
    answer_style,
    base_from_hub,
    pair_data_settings,
    released_pairs_settings,
    released_tasks,
    sft_data_settings,
    tasks_from,
    task_seeds,
    seeds_in_one_job,
    models_in_one_job,
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
    synthetic_task_settings,
)
from bmc.report.costs import PRICE_KEY
from bmc.cluster.resources import job_resources, load_resources
from bmc.runtime import OFFLINE_ENV

# No job may reach the network (jobs inherit this environment).
os.environ.update(OFFLINE_ENV)
# Jobs import bmc from this checkout, also in the per-rule conda envs of --sdm conda (third-party packages only),
# and on a cluster: PYTHONPATH starts with this checkout's src/, and envvars passes it to remote jobs.
_SRC = os.path.join(workflow.basedir, "src")
if _SRC not in os.environ.get("PYTHONPATH", "").split(os.pathsep):
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_SRC, os.environ.get("PYTHONPATH")) if p)


envvars:
    "PYTHONPATH",


def generation_cache(where, model, seed=None):
    """The crash-safe generation cache of one model of an evaluation job (a seed's own file when given)."""
    return os.path.join(RESULTS, "cache", "generation", where, model if seed is None else f"{model}-seed{seed}") + ".jsonl"


def rule_resources(rule):
    """Job resources of a rule (GPUs, CPUs per GPU, memory, runtime), sized by the study config's
    `resources` block (bmc.cluster); --set-resources in a profile still overrides them."""
    return job_resources(config, rule)


def bridge_resources():
    """bridge_pairs: its entry's GPUs only for an editor that runs a model in the job (not an API, not rules)."""
    res = job_resources(config, "bridge_pairs")
    gpus = res["gpu"]
    return {**res, "gpu": lambda wc: gpus if editor_spec(config, wc.bset)["kind"] in ("transformers", "vllm") else 0}

load_resources(config, workflow.basedir)  # a `resources: <file>` study shares that file's sizing
check_study(config)

STUDY = config["study"]
RESULTS = f"results/{STUDY}"
TASKS = list(config["tasks"])
METHODS = list(config["methods"])
MODELS = ["sft", *METHODS]
BRIDGED_SETS = bridged_set_names(config)
# Where each task's data and SFT model come from (bmc.config.task_source); rules that make the same file for
# different sources are told apart by these task lists.
SYNTHETIC_TASKS = tasks_from(config, SYNTHETIC)
DATA_TASKS = tasks_from(config, SFT_DATA)
PAIR_TASKS = tasks_from(config, PAIRS)
SFT_TRAINED_TASKS = SYNTHETIC_TASKS + DATA_TASKS  # SFT from the base model; y_l sampled from the SFT model
RELEASED_TASKS = released_tasks(config)  # main bridged set: the authors' released pairs (rule released_pairs)
BASE_FROM_HUB = base_from_hub(config)


def one_of(names):
    """A wildcard constraint matching exactly these names (none: a pattern that never matches)."""
    return "|".join(names) if names else "(?!)"


wildcard_constraints:
    task="|".join(TASKS),
    method="|".join(METHODS),
    model="|".join(MODELS),
    bset="|".join(BRIDGED_SETS),


def _files(data_files):
    if not data_files:
        return []
    if isinstance(data_files, str):
        return [data_files]
    if isinstance(data_files, dict):
        return [f for v in data_files.values() for f in _files(v)]
    return list(data_files)


def sft_data_files(wildcards):
    """The local files of a task's SFT set, as inputs (a changed file rebuilds the set)."""
    return _files(sft_data_settings(config, wildcards.task)["data_files"])


def released_pair_inputs(wildcards):
    """The released files of a task's main bridged set, the responses its original y_w are matched to (the task's
    gold responses, or a preference dataset's chosen ones), and a tokenizer for the edit distances."""
    task = wildcards.task
    references = (f"{RESULTS}/pairs/{task}/sampled.jsonl" if task in PAIR_TASKS
                  else f"{RESULTS}/data/{task}/train.jsonl")
    return {"files": _files(released_pairs_settings(config, task)["data_files"]), "references": references,
            "tokenizer": f"{RESULTS}/models/sft/{task}"}


def dataset_pair_files(wildcards):
    """The local files of a task's preference dataset, as inputs."""
    return _files(pair_data_settings(config, wildcards.task)["data_files"])


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


def task_priority(wildcards):
    """Snakemake priority of a task's training and evaluation jobs (tasks.<t>.priority)."""
    return config["tasks"][wildcards.task].get("priority", 0)


def model_dir(wildcards):
    """Directory of the model that is evaluated: the SFT model or a preference-trained one."""
    if wildcards.model == "sft":
        return f"{RESULTS}/models/sft/{wildcards.task}"
    return f"{RESULTS}/models/{wildcards.model}/{wildcards.task}"


# Seeds (tasks.<t>.seeds): the first is the main run; each other one repeats preference training and evaluation of
# every method under results/<study>/seeds/seed<s>/ (rules/seeds.smk). The SFT model is one per task.
SEED_DIR = f"{RESULTS}/seeds"


# seeds_in_one_job: the seeds each training and evaluation job covers (the same for every task); None: one job per seed
ONE_JOB_SEEDS = seeds_in_one_job(config)
# models_in_one_job: the stages where one job per task covers every model of it: evaluation (evaluate_task) and/or
# the held-out rewards of Table 4 (one reward_analysis job per task)
EVAL_TASK_JOBS = "evaluation" in models_in_one_job(config)
REWARD_TASK_JOBS = "rewards" in models_in_one_job(config)


def seed_path(seed, path):
    """``path`` (relative to the study's folder, wildcards allowed) of the run with ``seed``: the first seed's under
    results/<study>/, the others' under results/<study>/seeds/seed<s>/."""
    return f"{RESULTS}/{path}" if seed == ONE_JOB_SEEDS[0] else f"{SEED_DIR}/seed{seed}/{path}"


def seed_outputs(path):
    """The outputs of a job that covers every seed (seeds_in_one_job): one ``path`` per seed, in seed order;
    without seeds_in_one_job, the first seed's only."""
    return [seed_path(s, path) for s in ONE_JOB_SEEDS] if ONE_JOB_SEEDS else [f"{RESULTS}/{path}"]


def model_seeds(task, model):
    seeds = task_seeds(config, task)
    return seeds[:1] if model == "sft" else seeds


def run_file(task, seed, path):
    """``path`` (relative to the study's folder, wildcards allowed) of the run of a task with one seed: the task's
    first seed's under results/<study>/, the others' under results/<study>/seeds/seed<s>/."""
    return f"{RESULTS}/{path}" if seed == task_seeds(config, task)[0] else f"{SEED_DIR}/seed{seed}/{path}"


def score_file(task, model, seed, name="scores.json"):
    """The score file (or, with ``name``, another evaluation output) of one model of a task trained with one seed."""
    return run_file(task, seed, f"eval/{task}/{model}/{name}")


# ------------------------------------------------------------------------- helpers of rules/analysis.smk
def reward_params(keys):
    """params of a reward_analysis job: beta and max_length of each (method, seed) it covers (a task's settings)."""
    return {"beta": lambda wc: [preference_settings(config, wc.task, m).beta for m, _ in keys],
            "max_length": lambda wc: [preference_settings(config, wc.task, m).max_length for m, _ in keys],
            "batch_size": ANALYSIS["batch_size"]}


def reward_file(seed, path):
    return f"{RESULTS}/{path}" if seed is None else seed_path(seed, path)


def token_reward_inputs(wildcards):
    inputs = {"models": [f"{RESULTS}/models/{m}/{wildcards.task}" for m in TOKEN_REWARDS["methods"]],
              "sft": f"{RESULTS}/models/sft/{wildcards.task}", "pairs": f"{HELDOUT}/{wildcards.task}/pairs.jsonl"}
    if uses_nltk_stopwords(config, wildcards.task, None):
        inputs["stopwords"] = rules.nltk_stopwords.output[0]
    return inputs


def analysis_targets():
    """What `all` builds of the analyses: Table 4, the training diagnostics, and each figure the study has data
    for."""
    out = [*rules.table4.output]
    if TRAINING_KEYS:
        out += [rules.training_diagnostics.output.md]
    if TOKEN_REWARDS["methods"]:
        out += [rules.figure_token_rewards.output[f"png_{t}"] for t in TASKS]
    if KL_KEYS:
        out += rules.figure_kl.output
    return out


# ------------------------------------------------------------------------- helpers of rules/evaluation.smk
def evaluation_params(cache):
    """params of an evaluation job (also the sweeps' and the seeds'): decoding, prompt style, test sets, and the
    generation cache file(s) a crashed job resumes from."""
    return {"evaluation": config["evaluation"], "style": lambda wc: config["tasks"][wc.task]["prompt_style"],
            "test_sets": lambda wc: config["tasks"][wc.task]["test_sets"], "cache": cache}


def task_models(path):
    """``path`` (with ``{model}``) of every model a task's evaluate_task job covers, in TASK_MODELS order: the SFT
    model, then each method's seeds in seed order."""
    return [f"{RESULTS}/{path}".replace("{model}", "sft") if seed is None else seed_path(seed, path.replace("{model}", m))
            for m, seed in TASK_MODELS]


# ------------------------------------------------------------------------- helpers of rules/instruction_following.smk
def if_prompt_file(benchmark):
    return f"{RESULTS}/if/prompts/{benchmark}.{'json' if benchmark == 'alpaca_eval' else 'jsonl'}"


def if_answer_file(benchmark, task="{task}", model="{model}"):
    return f"{RESULTS}/if/{benchmark}/{task}/{model}/{PROMPT_SETS[benchmark].answer_file}"


def if_judge_file(benchmark, task="{task}", model="{model}"):
    return f"{RESULTS}/if/{benchmark}/{task}/{model}/judge.json"


def if_prompt_inputs(wildcards):
    """The configured local source files, as inputs (a changed file rebuilds the prompt set)."""
    return (IF["prompt_sets"][wildcards.benchmark]["data_files"] or []) if IF else []


def if_setup(wildcards):
    return IF["setups"][wildcards.task]


# ------------------------------------------------------------------------- helpers of rules/paper_data.smk
def paper_data_set(name):
    return (config.get("paper_data") or {}).get("sets", {}).get(name) or {}


def paper_data_files(wildcards):
    """The configured local source files, as inputs (so that a changed file rebuilds the set)."""
    files = paper_data_set(wildcards.name).get("data_files") or []
    if isinstance(files, str):
        return [files]
    if isinstance(files, dict):
        return [f for v in files.values() for f in ([v] if isinstance(v, str) else v)]
    return list(files)


def test_set_files(wildcards):
    names = [n for ns in config["tasks"][wildcards.task]["test_sets"].values() for n in ns]
    return {n: f"{RESULTS}/data/{wildcards.task}/test/{n}.jsonl" for n in names}


# ------------------------------------------------------------------------- helpers of rules/report.smk
def study_products(wildcards):
    """Everything `all` builds except this file's own outputs: the cost table waits for all of it."""
    own = {*map(str, rules.cost_table.output), *map(str, rules.study_config.output)}
    return [f for f in rules.all.input if str(f) not in own]


def rule_stages():
    """{rule: its stage (rule file)} in the order the rule files are included."""
    return {r.name: Path(r.snakefile).stem for r in workflow.rules if r.name != "all"}


def rule_gpus():
    """{rule: GPUs per job} for rules that ask for a fixed number (resource ``gpu``), for GPU-hours."""
    # a rule's resources are Snakemake Resource objects: .raw is the int (or the function of a per-job number)
    gpus = {r.name: getattr(r.resources["gpu"], "raw", r.resources["gpu"]) if "gpu" in r.resources else 0
            for r in workflow.rules}
    return {name: n for name, n in gpus.items() if isinstance(n, int)}


# ------------------------------------------------------------------------- helpers of rules/sweeps.smk
def sweep_training_inputs(pairs):
    """Inputs of a sweep training job (:func:`training_inputs` with the sweep's pair file)."""

    def inputs(wildcards):
        return training_inputs(wildcards.task, getattr(wildcards, "method", DELTA["method"]), pairs(wildcards))

    return inputs


def delta_pairs(wildcards):
    """The pairs of the swept method (its bridged set, or the main set's (y_w, y_l))."""
    return f"{RESULTS}/pairs/{wildcards.task}/bridged/{method_bridged_set(config, DELTA['method'])}.jsonl"


def delta_point(task, delta):
    """Model folder and score file of one δ: the main study's where δ is the method's own."""
    if delta_is_main(config, task, delta):
        return f"{RESULTS}/models/{DELTA['method']}/{task}", f"{RESULTS}/eval/{task}/{DELTA['method']}/scores.json"
    d = delta_key(delta)
    return f"{DELTA_DIR}/models/{task}/delta{d}", f"{DELTA_DIR}/eval/{task}/delta{d}/scores.json"


# ------------------------------------------------------------------------- helpers of rules/tables.smk
def score_keys(table, tasks=None):
    """(task, model) of every score file a paper table reads (default tasks: those scored by accuracy)."""
    return [(t, m) for t in (ACCURACY_TASKS if tasks is None else tasks) for m in table_rows(config, table)]


def table_outputs(table):
    caption = "../report/table.rst"
    labels = {"table": TABLES[table].split(":")[0]}
    paired = {"paired": f"{RESULTS}/tables/{table}_paired.csv"} if paired_keys(table) else {}
    return paired | {
        "html": report(f"{RESULTS}/tables/{table}.html", caption=caption, category="Tables", subcategory=table,
                       labels=labels | {"format": "HTML"}),
        "csv": report(f"{RESULTS}/tables/{table}.csv", caption=caption, category="Tables", subcategory=table,
                      labels=labels | {"format": "CSV"}),
        "md": f"{RESULTS}/tables/{table}.md",
        "tex": f"{RESULTS}/tables/{table}.tex",
    }


def seed_keys(table):
    """(task, model, seed) of every score file an accuracy table reads: each model with each of its seeds."""
    return [(t, m, s) for t, m in score_keys(table) for s in model_seeds(t, m)]


def table_params(table, per_test_set=False, tasks=None, seeds=False):
    tasks = ACCURACY_TASKS if tasks is None else tasks
    return {
        "table": table,
        "study": STUDY,
        "score_keys": seed_keys(table) if seeds else score_keys(table, tasks),
        "rows": table_rows(config, table),
        "setups": {t: setup_name(config, t) for t in tasks},
        "per_test_set": per_test_set,
        "notes": table_notes(),
    }


def paired_keys(table):
    """Table 1's paired differences to DPO: (task, model, seed) of every prediction file they read (none for the
    other tables, or without a DPO method)."""
    if table != "table1" or dpo_reference(config) is None:
        return []
    return seed_keys(table)


def judge_keys(table):
    """(task, model) of the AlpacaEval 2 results behind a table's IF cells (Tables 5 and 9: AE2 LC of the IF
    setups), when the study has them and the judges can run (their key is set); otherwise none."""
    if table not in ("table5", "table9") or not IF or judge_key_missing(IF) or "alpaca_eval" not in IF["benchmarks"]:
        return []
    return [(t, m) for t, s in IF["setups"].items() for m in table_rows(config, table) if m in s["models"]]

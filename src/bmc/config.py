"""The study config (``configs/*.yaml``, validated by ``configs/schema.yaml``) as typed settings: the paper's
hyper-parameters and the official scripts' arguments, per stage.

The JSON schema checks keys and types before any job starts; :func:`check_study` adds the checks a schema
cannot express (a test set naming a question type its generator does not produce, a method id that
collides with a model name). Per-task blocks override the study-wide ones: ``tasks.<t>.sft`` over ``sft``
and ``tasks.<t>.preference`` over ``preference``.
"""

from __future__ import annotations

from dataclasses import fields

from bmc.settings import (  # standard library only: the workflow imports this module while it parses
    DIRECTIONS,
    RELEASED_SPLITS,
    TEST_SET_SETUPS,
    UNITS,
    BridgeSettings,
    DecodingSettings,
    EditorDecoding,
    MethodSpec,
    ModelShape,
    OpenAISettings,
    PreferenceSettings,
    PretrainSettings,
    SamplingSettings,
    SFTSettings,
    TaskSizes,
    TransformersSettings,
    VLLMSettings,
)

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
    if not base_from_hub(config):
        missing = [k for k in ("corpus", "tokenizer") if k not in config]
        if missing:
            raise ConfigError(f"base_model is pretrained by the workflow, which needs the block(s) {missing}")
    for task, tc in config["tasks"].items():
        source = _check_task_source(task, tc)
        if source == "sft_data":
            _check_test_set_names(task, tc)
        if source != "synthetic":
            continue
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
    for task, tc in config["tasks"].items():
        for method in tc.get("methods", {}):
            if method not in config["methods"]:
                raise ConfigError(f"tasks.{task}.methods.{method}: no method {method!r} under methods")
        for method in config["methods"]:
            method_spec(config, method)
            preference_settings(config, task, method)
    labels = [m["label"] for m in config["methods"].values()]
    if "SFT" in labels or len(set(labels)) != len(labels):
        raise ConfigError(f"methods: labels must be unique and not 'SFT', got {labels}")
    check_editors(config)
    open_ended = [t for t in config["tasks"] if answer_style(config, t) is None]
    for bset in bridged_set_names(config):
        if open_ended and editor_spec(config, bset)["kind"] == "rule":
            raise ConfigError(f"bridging set {bset!r}: the rule editor needs gold answers, which tasks {open_ended} "
                              "(open-ended pairs) do not have; use an LLM editor")
    for task in released_tasks(config):
        r = released_pairs_settings(config, task)
        splits = RELEASED_SPLITS.get(r["source"])
        if splits is None:
            raise ConfigError(f"tasks.{task}.released_pairs.source: {r['source']!r} is not a released set; "
                              f"known: {sorted(RELEASED_SPLITS)}")
        if r["split"] not in splits:
            raise ConfigError(f"tasks.{task}.released_pairs.split: {r['split']!r}; {r['source']} has {list(splits)}")
        if not r["data_files"]:
            raise ConfigError(f"tasks.{task}.released_pairs.data_files: the released files are not on the hub: give "
                              "their local paths (e.g. fetched by a sources entry)")
    analysis_settings(config)
    seeds_in_one_job(config)
    models_in_one_job(config)


# ------------------------------------------------------------------------------------------ task sources
SYNTHETIC, SFT_DATA, PAIRS = "synthetic", "sft_data", "pairs"
ANSWER_STYLES = ("qa", "math")  # prompt styles whose responses have a checkable answer


def task_source(config: dict, task: str) -> str:
    """Where a task's data and SFT model come from: ``synthetic`` (a generator; SFT from the base model),
    ``sft_data`` (a dataset; SFT from the base model, y_l sampled) or ``pairs`` (a public SFT checkpoint and a
    preference dataset)."""
    tc = config["tasks"][task]
    if "generator" in tc:
        return SYNTHETIC
    return PAIRS if "pairs" in tc else SFT_DATA


def tasks_from(config: dict, *sources: str) -> list[str]:
    return [t for t in config["tasks"] if task_source(config, t) in sources]


def base_from_hub(config: dict) -> bool:
    return "hub" in config["base_model"]


def answer_style(config: dict, task: str) -> str | None:
    """The prompt style responses are checked in (bridging's answer check), or None for open-ended tasks."""
    style = config["tasks"][task]["prompt_style"]
    return style if style in ANSWER_STYLES else None


SOURCE_KEYS = {  # what each kind of task needs, and the keys of the other kinds it may not have
    SYNTHETIC: ("generator", "seed", "train_size", "test_size", "test_sets"),
    SFT_DATA: ("sft_data", "test_sets"),
    PAIRS: ("sft_model", "pairs"),
}


def _check_task_source(task: str, tc: dict) -> str:
    """The task's source (one of SOURCE_KEYS), or a ConfigError naming the task and the keys at fault."""
    marks = {SYNTHETIC: "generator", SFT_DATA: "sft_data", PAIRS: "sft_model"}
    given = [s for s, k in marks.items() if k in tc] or ([PAIRS] if "pairs" in tc else [])
    if len(given) != 1:
        raise ConfigError(f"tasks.{task}: give exactly one data source: generator (synthetic), sft_data (an SFT set "
                          f"for the base model) or sft_model + pairs (a public SFT checkpoint and preference pairs); "
                          f"got {[marks[s] for s in given] or 'none'}")
    source = given[0]
    missing = [k for k in SOURCE_KEYS[source] if k not in tc]
    if missing:
        raise ConfigError(f"tasks.{task}: a task with {marks[source]} needs {missing}")
    others = {k for s, keys in SOURCE_KEYS.items() if s != source for k in keys} - set(SOURCE_KEYS[source])
    foreign = sorted(others & set(tc))
    if foreign:
        raise ConfigError(f"tasks.{task}: {foreign} do not apply to a task with {marks[source]}")
    if source == PAIRS and tc["prompt_style"] != "chat":
        raise ConfigError(f"tasks.{task}.prompt_style: a task with preference pairs from a dataset is open-ended; "
                          "use chat (the SFT checkpoint's own template)")
    return source


def _check_test_set_names(task: str, tc: dict) -> None:
    for label, names in tc["test_sets"].items():
        for name in names:
            setup = TEST_SET_SETUPS.get(name)
            if setup is None:
                raise ConfigError(f"tasks.{task}.test_sets.{label}: {name!r} is not a test set "
                                  f"(have {sorted(TEST_SET_SETUPS)})")
            if setup != tc["paper_setup"]:
                raise ConfigError(f"tasks.{task}.test_sets.{label}: {name!r} belongs to the paper's {setup} "
                                  f"setup, the task to {tc['paper_setup']}")
    names = [n for ns in tc["test_sets"].values() for n in ns]
    if len(set(names)) != len(names):
        raise ConfigError(f"tasks.{task}.test_sets: a test set is named twice ({names})")


def sft_data_settings(config: dict, task: str) -> dict:
    """``tasks.<t>.sft_data`` with its defaults (seed: the study's)."""
    return {"data_files": None, "size": None, "seed": config["seed"], "check_size": True, "download": False,
            **config["tasks"][task]["sft_data"]}


def released_pairs_settings(config: dict, task: str) -> dict | None:
    """``tasks.<t>.released_pairs`` with its defaults, or None: the authors' bridged pairs as the task's main
    bridged set (rule released_pairs) instead of the editor's."""
    block = config["tasks"][task].get("released_pairs")
    if block is None:
        return None
    return {"data_files": None, "split": "train", "check_size": True, **block}


def released_tasks(config: dict) -> list[str]:
    return [t for t in config["tasks"] if "released_pairs" in config["tasks"][t]]


def pair_data_settings(config: dict, task: str) -> dict:
    """``tasks.<t>.pairs`` with its defaults."""
    return {"data_files": None, "train_split": "train_prefs", "heldout_split": "test_prefs", "size": None,
            "heldout_size": None, "seed": config["seed"], "check_size": True, "download": False,
            **config["tasks"][task]["pairs"]}


SYNTHETIC_TASK_KEYS = ("generator", "seed", "train_size", "test_size", "types")
SYNTHETIC_TASK_OPTIONS = ("max_operand", "paraphrases")  # in the params only when set (earlier runs stay current)


def synthetic_task_settings(config: dict, task: str) -> dict:
    """What a synthetic task's data depends on (rule synthetic_task's params): its generator, seed, split sizes and
    question types; not the task's SFT, preference or evaluation settings, so that changing those keeps the data."""
    tc = config["tasks"][task]
    return {k: tc.get(k) for k in SYNTHETIC_TASK_KEYS} | {k: tc[k] for k in SYNTHETIC_TASK_OPTIONS if k in tc}


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


def preference_settings(config: dict, task: str, method: str | None = None) -> PreferenceSettings:
    """Settings of one method on one task: ``preference`` < ``tasks.<t>.preference`` <
    ``methods.<m>.preference`` < ``tasks.<t>.methods.<m>`` (later wins)."""
    values = _preference_values(config, task, method) | {"precision": config["precision"]}
    values.setdefault("seed", task_seeds(config, task)[0])
    if values.get("stopwords") == "nltk":
        values["stopwords"] = []  # the list comes from the nltk_stopwords rule's file (see rules/training.smk)
    where = f"preference / tasks.{task}.preference" + (f" / methods.{method}" if method else "")
    return _build(PreferenceSettings, values, where)


def _preference_values(config: dict, task: str, method: str | None) -> dict:
    tc = config["tasks"][task]
    values = {**config["preference"], **tc.get("preference", {})}
    if method is not None:
        values |= config["methods"][method].get("preference", {})
        values |= tc.get("methods", {}).get(method, {})
    return values


def task_seeds(config: dict, task: str) -> list[int]:
    """The preference-training seeds of a task (``tasks.<t>.seeds``; default: the study seed). The first is the
    main run (``models/<method>/<task>``); each other one trains every method again from the same SFT model and
    pairs (``seeds/seed<s>/``), and the accuracy tables show mean ± std over them."""
    return list(config["tasks"][task].get("seeds") or [config["seed"]])


def seeds_in_one_job(config: dict) -> list[int] | None:
    """With ``seeds_in_one_job``: the seeds every job of preference training and of its evaluation covers (the
    tasks' common ``seeds``); None: one job per seed (rules/seeds.smk)."""
    if not config.get("seeds_in_one_job"):
        return None
    lists = {task: task_seeds(config, task) for task in config["tasks"]}
    first = next(iter(lists.values()))
    for task, seeds in lists.items():
        if seeds != first:
            raise ConfigError(f"seeds_in_one_job: every task must list the same seeds (one job trains them all); "
                              f"tasks.{task}.seeds is {seeds}, tasks.{next(iter(lists))}.seeds is {first}")
    return first


ONE_JOB_STAGES = ("evaluation", "rewards")


def models_in_one_job(config: dict) -> frozenset[str]:
    """The stages in which one job per task covers every model of it (``models_in_one_job``: true = all of
    ``ONE_JOB_STAGES``, false = none, or a list of them): ``evaluation`` (evaluate_task: the SFT model and every
    seed of every method; it builds on ``seeds_in_one_job``) and ``rewards`` (reward_analysis: every Table 4
    method's held-out rewards)."""
    value = config.get("models_in_one_job") or []
    stages = set(ONE_JOB_STAGES) if value is True else set(value)
    unknown = sorted(stages - set(ONE_JOB_STAGES))
    if unknown:
        raise ConfigError(f"models_in_one_job: unknown stage(s) {unknown}; expected true, false or a list of "
                          f"{list(ONE_JOB_STAGES)}")
    if "evaluation" in stages and not config.get("seeds_in_one_job"):
        raise ConfigError("models_in_one_job needs seeds_in_one_job for evaluation: the job of a task evaluates "
                          "every seed of every method, so the seeds must not have jobs of their own")
    return frozenset(stages)


def uses_nltk_stopwords(config: dict, task: str, method: str) -> bool:
    return _preference_values(config, task, method).get("stopwords") == "nltk"


def method_spec(config: dict, method: str) -> MethodSpec:
    values = {k: v for k, v in config["methods"][method].items() if k not in ("bridged_set", "preference")}
    return _build(MethodSpec, values, f"methods.{method}")


def method_bridged_set(config: dict, method: str) -> str:
    """The bridged set a method trains on ("original" methods use the surviving pairs of the main set)."""
    m = config["methods"][method]
    return m.get("bridged_set", MAIN_SET) if m["pairs"] == "bridged" else MAIN_SET


def eval_decoding(config: dict) -> DecodingSettings:
    return DecodingSettings(max_new_tokens=config["evaluation"]["max_new_tokens"])


# ----------------------------------------------------------------------------------------------- bridging
BRIDGING_KEYS = ("editor", "direction", "fraction", "seed", "prompt", "decoding", "filters", "cache_dir")
MAIN_SET = "main"


def _merge(base: dict, override: dict) -> dict:
    out = dict(base)
    for k, v in override.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def bridged_set_names(config: dict) -> list[str]:
    return [MAIN_SET, *config["bridging"].get("ablations", {})]


def bridged_set(config: dict, name: str) -> dict:
    """The settings of one bridged set: ``main`` is the ``bridging`` block; an ablation overrides it."""
    base = {k: v for k, v in config["bridging"].items() if k != "ablations"}
    if name == MAIN_SET:
        return base
    ablations = config["bridging"].get("ablations", {})
    if name not in ablations:
        raise ConfigError(f"bridging.ablations: no bridged set named {name!r} (have {sorted(ablations)})")
    return _merge(base, ablations[name])


def editor_spec(config: dict, bset: str) -> dict:
    name = bridged_set(config, bset)["editor"]
    if name not in config["editors"]:
        raise ConfigError(f"bridging set {bset!r}: editor {name!r} is not defined under editors "
                          f"(have {sorted(config['editors'])})")
    return config["editors"][name]


def check_editors(config: dict) -> None:
    kinds = {"openai": OpenAISettings, "vllm": VLLMSettings, "transformers": TransformersSettings}
    for name, spec in config["editors"].items():
        options = {k: v for k, v in spec.items() if k not in ("kind", "label", "price_usd_per_million_tokens")}
        if spec["kind"] == "rule":
            if options:
                raise ConfigError(f"editors.{name}: the rule editor takes no options, got {sorted(options)}")
        else:
            _build(kinds[spec["kind"]], options, f"editors.{name}")
    for bset in bridged_set_names(config):
        s = bridged_set(config, bset)
        where = "bridging" if bset == MAIN_SET else f"bridging.ablations.{bset}"
        editor_spec(config, bset)
        if s["direction"] not in DIRECTIONS:
            raise ConfigError(f"{where}.direction: {s['direction']!r} is not one of {DIRECTIONS}")
        _build(EditorDecoding, s["decoding"], f"{where}.decoding")
        _build(BridgeSettings, {**s["filters"], "direction": s["direction"], "fraction": s["fraction"],
                                "seed": s["seed"]}, f"{where}.filters")
    for method, m in config["methods"].items():
        bset = m.get("bridged_set", MAIN_SET)
        if bset not in bridged_set_names(config):
            raise ConfigError(f"methods.{method}.bridged_set: no bridged set {bset!r} "
                              f"(have {bridged_set_names(config)})")


def prompt_family(config: dict, task: str) -> str:
    """The editor prompt family of a task: the paper's QA/math prompt (Figure 7) for tasks with a correct
    answer, its instruction-following prompt (Figure 8) otherwise."""
    return config["tasks"][task].get("editor_prompts", "qa_math")


def prompt_template_path(config: dict, task: str, bset: str, basedir: str) -> str | None:
    """The template file of a bridged set for a task, or None for the rule editor (no prompt)."""
    s = bridged_set(config, bset)
    if editor_spec(config, bset)["kind"] == "rule":
        return None
    if s["prompt"] != "auto":
        return s["prompt"]
    return f"{basedir}/configs/prompts/bridging/{prompt_family(config, task)}/{s['direction']}.txt"


def bridge_settings(config: dict, bset: str) -> BridgeSettings:
    s = bridged_set(config, bset)
    return BridgeSettings(direction=s["direction"], fraction=s["fraction"], seed=s["seed"], **s["filters"])


# ------------------------------------------------------------------------------------------------- sweeps
# The paper's figure sweeps (named targets, not part of `all`). A study without a `sweeps` block gets these
# defaults, narrowed to the methods it has; a `sweeps` block given in the config is checked strictly.
DELTA_SWEEP_DEFAULTS = {"method": "dpo_bmc", "reference": "dpo", "values": [1.0, 1.5, 2.0, 2.5, 3.0, 3.5]}
EDIT_DISTANCE_DEFAULTS = {"k": 6, "unit": "token", "methods": ["dpo", "dpo_bmc"]}


def delta_key(delta: float) -> str:
    """A δ as it appears in paths (``delta3.0``): one spelling per value."""
    return str(float(delta))


def _sweep_tasks(config: dict, s: dict, where: str) -> None:
    bad = [t for t in s["tasks"] if t not in config["tasks"]]
    if bad:
        raise ConfigError(f"{where}.tasks: {bad} are not tasks of the study (have {list(config['tasks'])})")
    open_ended = [t for t in s["tasks"] if "test_sets" not in config["tasks"][t]]
    if open_ended:
        raise ConfigError(f"{where}.tasks: {open_ended} have no test sets to score the sweep's models on")


def _scored_tasks(config: dict) -> list[str]:
    """Tasks whose models are scored on test sets (the default tasks of a sweep)."""
    return [t for t, tc in config["tasks"].items() if "test_sets" in tc]


def delta_sweep(config: dict) -> dict:
    """``sweeps.delta`` resolved: method (its δ is swept), reference (the horizontal line), values (floats),
    tasks."""
    given = config.get("sweeps", {}).get("delta")
    s = DELTA_SWEEP_DEFAULTS | {"tasks": _scored_tasks(config)} | (given or {})
    s["values"] = [float(v) for v in s["values"]]
    methods = config["methods"]
    if given is None and (s["method"] not in methods or s["reference"] not in methods):
        return s | {"tasks": []}  # no sweep block and not the default methods: nothing to sweep
    for key in ("method", "reference"):
        if s[key] not in methods:
            raise ConfigError(f"sweeps.delta.{key}: no method {s[key]!r} under methods (have {list(methods)})")
    if not methods[s["method"]]["bmc_weights"]:
        raise ConfigError(f"sweeps.delta.method: {s['method']!r} has bmc_weights: false, so its delta is unused")
    if len({delta_key(v) for v in s["values"]}) != len(s["values"]) or min(s["values"], default=0) < 0:
        raise ConfigError(f"sweeps.delta.values: need distinct values >= 0, got {s['values']}")
    _sweep_tasks(config, s, "sweeps.delta")
    return s


def delta_settings(config: dict, task: str, delta: float) -> PreferenceSettings:
    """The swept method's settings on a task with its δ replaced."""
    from dataclasses import replace

    return replace(preference_settings(config, task, delta_sweep(config)["method"]), delta=float(delta))


def delta_is_main(config: dict, task: str, delta: float) -> bool:
    """Whether a swept δ is the method's own δ on the task: then the main study's model is that point."""
    return preference_settings(config, task, delta_sweep(config)["method"]).delta == float(delta)


def edit_distance_sweep(config: dict) -> dict:
    """``sweeps.edit_distance`` resolved: k (number of equal splits), unit (token|character), methods,
    tasks. The splits are cut from the main bridged set, so each method must train on it."""
    given = config.get("sweeps", {}).get("edit_distance")
    s = EDIT_DISTANCE_DEFAULTS | {"tasks": _scored_tasks(config)} | (given or {})
    methods = config["methods"]
    if given is None:
        s["methods"] = [m for m in s["methods"] if m in methods]
        if not s["methods"]:
            s["tasks"] = []
    for m in s["methods"]:
        if m not in methods:
            raise ConfigError(f"sweeps.edit_distance.methods: no method {m!r} under methods (have {list(methods)})")
        if method_bridged_set(config, m) != MAIN_SET:
            raise ConfigError(f"sweeps.edit_distance.methods: {m!r} trains on bridged set "
                              f"{method_bridged_set(config, m)!r}; the splits are cut from the {MAIN_SET!r} set")
    if s["unit"] not in UNITS:
        raise ConfigError(f"sweeps.edit_distance.unit: {s['unit']!r} is not one of {UNITS}")
    _sweep_tasks(config, s, "sweeps.edit_distance")
    return s


# ----------------------------------------------------------------------------------------------- analyses
ANALYSIS_DEFAULTS = {"heldout_questions": 200, "kl_examples": 64, "batch_size": 16}
TOKEN_REWARDS_DEFAULTS = {"methods": ["dpo", "dpo_bmc"], "example": "median", "max_tokens": 48}


def analysis_settings(config: dict) -> dict:
    """``analysis`` resolved: heldout_questions, kl_examples, seed, batch_size, bars (if given) and token_rewards
    (methods, example, max_tokens). Without the block the defaults apply; the token-reward methods then narrow to the
    ones the study has, while methods named in the block must exist."""
    given = config.get("analysis") or {}
    s = ANALYSIS_DEFAULTS | {"seed": config["seed"]} | {k: v for k, v in given.items() if k != "token_rewards"}
    tr = TOKEN_REWARDS_DEFAULTS | given.get("token_rewards", {})
    methods = config["methods"]
    if "methods" in given.get("token_rewards", {}):
        bad = [m for m in tr["methods"] if m not in methods]
        if bad:
            raise ConfigError(f"analysis.token_rewards.methods: {bad} are not methods of the study "
                              f"(have {list(methods)})")
    else:
        tr["methods"] = [m for m in tr["methods"] if m in methods]
    bars = given.get("bars")
    if bars:
        if bars["method"] not in methods:
            raise ConfigError(f"analysis.bars.method: {bars['method']!r} is not a method of the study "
                              f"(have {list(methods)})")
        for name, value in bars.items():
            if isinstance(value, dict) and set(value) != set(config["tasks"]):
                raise ConfigError(f"analysis.bars.{name}: give one value per task {sorted(config['tasks'])}, "
                                  f"got {sorted(value)}")
    return s | {"token_rewards": tr}


def kl_logged(config: dict, task: str, method: str) -> bool:
    """Whether a method's training run logs held-out KL (``kl_every_steps`` > 0), so it needs the held-out
    chosen responses as an input."""
    return _preference_values(config, task, method).get("kl_every_steps", 0) > 0

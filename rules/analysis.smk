# Analyses of the trained policies on held-out data built from the test questions (settings: the config's
# `analysis` block): the reward margin and accuracy of Table 4 (paper §3.7), the KL curve of Figure 4 (logged
# during training when preference.kl_every_steps > 0) and the token-level reward heat map of Figure 6.
ANALYSIS = analysis_settings(config)
TOKEN_REWARDS = ANALYSIS["token_rewards"]
TABLE4_METHODS = list(table_rows(config, "table4"))
HELDOUT = f"{RESULTS}/heldout"
ANALYSIS_DIR = f"{RESULTS}/analysis"


rule heldout_chosen:
    input:
        test=f"{RESULTS}/data/{{task}}/test.jsonl",
    output:
        f"{HELDOUT}/{{task}}/chosen.jsonl",
    log:
        logfile("heldout_chosen"),
    params:
        examples=ANALYSIS["kl_examples"],
        seed=ANALYSIS["seed"],
        style=lambda wc: config["tasks"][wc.task]["prompt_style"],
    resources:
        **rule_resources("heldout_chosen"),
    conda:
        "../envs/training.yaml"
    script:
        "../scripts/heldout_chosen.py"


rule heldout_pairs:
    input:
        model=f"{RESULTS}/models/sft/{{task}}",
        test=f"{RESULTS}/data/{{task}}/test.jsonl",
    output:
        pairs=f"{HELDOUT}/{{task}}/pairs.jsonl",
        stats=f"{HELDOUT}/{{task}}/pairs_stats.json",
    log:
        logfile("heldout_pairs"),
    benchmark:
        benchfile("heldout_pairs")
    wildcard_constraints:
        task=one_of(SFT_TRAINED_TASKS),
    threads: config["threads"]
    params:
        settings=asdict(sampling_settings(config)),
        batch_size=config["sampling"]["batch_size"],
        style=lambda wc: config["tasks"][wc.task]["prompt_style"],
        questions=ANALYSIS["heldout_questions"],
        seed=ANALYSIS["seed"],
    resources:
        **rule_resources("heldout_pairs"),
    conda:
        "../envs/inference.yaml"
    script:
        "../scripts/heldout_pairs.py"


localrules:
    dataset_heldout,


rule dataset_heldout:  # tasks with a preference dataset: its held-out split (UltraFeedback test_prefs, 2,000)
    input:
        dataset_pair_files,
    output:
        pairs=f"{HELDOUT}/{{task}}/pairs.jsonl",
        stats=f"{HELDOUT}/{{task}}/pairs_stats.json",
        test=f"{RESULTS}/data/{{task}}/test.jsonl",  # prompts and chosen responses: heldout_chosen reads them
    log:
        logfile("dataset_heldout"),
    wildcard_constraints:
        task=one_of(PAIR_TASKS),
    params:
        data=lambda wc: pair_data_settings(config, wc.task),
        split="heldout",
    resources:
        **rule_resources("dataset_heldout"),
    conda:
        "../envs/tables.yaml"
    script:
        "../scripts/dataset_pairs.py"

# (method, seed) of the held-out rewards a task's reward_analysis job computes: Table 4's methods, every seed the
# training jobs cover (seeds_in_one_job) or the first (Table 4 reads the first seed's; tables/training.md all of them)
REWARD_KEYS = [(m, s) for m in TABLE4_METHODS for s in (ONE_JOB_SEEDS or [None])]

if REWARD_TASK_JOBS:  # one job per task: every method of Table 4

    rule reward_analysis:
        input:
            model=[reward_file(s, f"models/{m}/{{task}}") for m, s in REWARD_KEYS],
            sft=f"{RESULTS}/models/sft/{{task}}",
            pairs=rules.heldout_pairs.output.pairs,
        output:
            rows=[reward_file(s, f"analysis/{{task}}/{m}/rewards.jsonl") for m, s in REWARD_KEYS],
            summary=[reward_file(s, f"analysis/{{task}}/{m}/rewards.json") for m, s in REWARD_KEYS],
        log:
            logfile("reward_analysis", "{task}"),
        benchmark:
            benchfile("reward_analysis", "{task}")
        threads: config["threads"]
        params:
            **reward_params(REWARD_KEYS),
        resources:
            **rule_resources("reward_analysis"),
        conda:
            "../envs/training.yaml"
        script:
            "../scripts/reward_analysis.py"

else:  # one job per method

    rule reward_analysis:
        input:
            model=f"{RESULTS}/models/{{method}}/{{task}}",
            sft=f"{RESULTS}/models/sft/{{task}}",
            pairs=rules.heldout_pairs.output.pairs,
        output:
            rows=f"{ANALYSIS_DIR}/{{task}}/{{method}}/rewards.jsonl",
            summary=f"{ANALYSIS_DIR}/{{task}}/{{method}}/rewards.json",
        log:
            logfile("reward_analysis", "{task}/{method}"),
        benchmark:
            benchfile("reward_analysis", "{task}/{method}")
        threads: config["threads"]
        params:
            beta=lambda wc: [preference_settings(config, wc.task, wc.method).beta],
            max_length=lambda wc: [preference_settings(config, wc.task, wc.method).max_length],
            batch_size=ANALYSIS["batch_size"],
        resources:
            **rule_resources("reward_analysis"),
        conda:
            "../envs/training.yaml"
        script:
            "../scripts/reward_analysis.py"


rule table4:
    input:
        scores=[f"{ANALYSIS_DIR}/{t}/{m}/rewards.json" for t, m in score_keys("table4", TASKS)],
    output:
        **table_outputs("table4"),
    log:
        logfile("table4", "table4"),
    benchmark:
        benchfile("table4", "table4")
    params:
        **table_params("table4", tasks=TASKS),  # every task has held-out pairs (the paper's: UltraFeedback)
        cells="rewards",
    resources:
        **rule_resources("table4"),
    conda:
        "../envs/tables.yaml"
    script:
        "../scripts/make_table.py"

rule token_rewards:
    input:
        unpack(token_reward_inputs),
    output:
        f"{ANALYSIS_DIR}/{{task}}/token_rewards.json",
    log:
        logfile("token_rewards"),
    benchmark:
        benchfile("token_rewards")
    params:
        methods=TOKEN_REWARDS["methods"],
        labels={m: c["label"] for m, c in config["methods"].items()},
        betas=lambda wc: {m: preference_settings(config, wc.task, m).beta for m in TOKEN_REWARDS["methods"]},
        max_length=lambda wc: preference_settings(config, wc.task).max_length,
        stopwords=lambda wc: preference_settings(config, wc.task).stopwords,  # the marks of training
        stopword_rule=lambda wc: preference_settings(config, wc.task).stopword_rule,
        example=TOKEN_REWARDS["example"],
        max_tokens=TOKEN_REWARDS["max_tokens"],
        batch_size=ANALYSIS["batch_size"],
    threads: config["threads"]
    resources:
        **rule_resources("token_rewards"),
    conda:
        "../envs/training.yaml"
    script:
        "../scripts/token_rewards.py"


rule figure_token_rewards:
    input:
        expand(rules.token_rewards.output, task=TASKS),
    output:  # png_<task> (one report entry per task) and pdf_<task>
        **{f"png_{t}": report(f"{RESULTS}/figures/token_rewards_{t}.png", caption="../report/figure_token_rewards.rst",
                              category="Figures", labels={"figure": f"token rewards, {c['label']} (Figure 6)",
                                                          "format": "PNG"})
           for t, c in config["tasks"].items()},
        **{f"pdf_{t}": f"{RESULTS}/figures/token_rewards_{t}.pdf" for t in TASKS},
    log:
        logfile("figure_token_rewards", "figure_token_rewards"),
    params:
        tasks=TASKS,
        task_labels={t: c["label"] for t, c in config["tasks"].items()},
        max_tokens=TOKEN_REWARDS["max_tokens"],
        study=STUDY,
    resources:
        **rule_resources("figure_token_rewards"),
    conda:
        "../envs/tables.yaml"
    script:
        "../scripts/figure_token_rewards.py"


KL_KEYS = [(t, m) for t in TASKS for m in TABLE4_METHODS if kl_logged(config, t, m)]


rule figure_kl:
    input:
        models=[f"{RESULTS}/models/{m}/{t}" for t, m in KL_KEYS],
    output:
        csv=f"{ANALYSIS_DIR}/kl.csv",
        png=report(f"{RESULTS}/figures/kl.png", caption="../report/figure_kl.rst", category="Figures",
                   labels={"figure": "KL curves (Figure 4)", "format": "PNG"}),
        pdf=f"{RESULTS}/figures/kl.pdf",
    log:
        logfile("figure_kl", "figure_kl"),
    params:
        runs=KL_KEYS,
        labels={m: c["label"] for m, c in config["methods"].items()},
        task_labels={t: c["label"] for t, c in config["tasks"].items()},
        study=STUDY,
    resources:
        **rule_resources("figure_kl"),
    conda:
        "../envs/training.yaml"
    script:
        "../scripts/figure_kl.py"


# Training diagnostics: every trained method of the accuracy tables, on every task it is scored on, every seed
TRAINED_METHODS = list(dict.fromkeys(m for table in ("table1", "table3", "table5", "table9")
                                     for m in table_rows(config, table) if m != "sft"))
TRAINING_KEYS = [(t, m, s) for t in ACCURACY_TASKS for m in TRAINED_METHODS for s in model_seeds(t, m)]
TRAINING_REWARD_KEYS = [(t, m, s if s is not None else task_seeds(config, t)[0]) for t in ACCURACY_TASKS
                        for m, s in REWARD_KEYS] if ACCURACY_TASKS else []


rule training_diagnostics:
    input:
        models=[run_file(t, s, f"models/{m}/{t}") for t, m, s in TRAINING_KEYS],
        scores=[score_file(t, m, s) for t, m, s in TRAINING_KEYS],
        sft_scores=[score_file(t, "sft", task_seeds(config, t)[0]) for t in ACCURACY_TASKS],
        rewards=[run_file(t, s, f"analysis/{t}/{m}/rewards.json") for t, m, s in TRAINING_REWARD_KEYS],
    output:
        csv=report(f"{RESULTS}/tables/training.csv", caption="../report/training.rst", category="Tables",
                   subcategory="training", labels={"table": "training diagnostics", "format": "CSV"}),
        md=f"{RESULTS}/tables/training.md",
        png=report(f"{RESULTS}/figures/training.png", caption="../report/training.rst", category="Figures",
                   labels={"figure": "preference training curves", "format": "PNG"}),
        pdf=f"{RESULTS}/figures/training.pdf",
    log:
        logfile("training_diagnostics", "training_diagnostics"),
    benchmark:
        benchfile("training_diagnostics", "training_diagnostics")
    params:
        runs=TRAINING_KEYS,
        reward_keys=TRAINING_REWARD_KEYS,
        tasks=ACCURACY_TASKS,
        labels={m: c["label"] for m, c in config["methods"].items()},
        task_labels={t: c["label"] for t, c in config["tasks"].items()},
        bars=ANALYSIS.get("bars"),
        study=STUDY,
    resources:
        **rule_resources("training_diagnostics"),
    conda:
        "../envs/tables.yaml"
    script:
        "../scripts/training_diagnostics.py"

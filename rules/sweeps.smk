# The paper's figure sweeps, named targets outside `all` (settings: the config's `sweeps` block):
#   figure_delta          DPO-BMC trained with each δ of sweeps.delta.values (paper Figure 3/4)
#   figure_edit_distance  pairs cut into k equal splits by edit distance; each method trained per split (Figure 5)
#   sweeps                both
# Training and evaluation run the stage scripts of train_preference and evaluate on other inputs and outputs.
from bmc.config import delta_is_main, delta_key, delta_settings, delta_sweep, edit_distance_sweep

DELTA = delta_sweep(config)
SPLITS = edit_distance_sweep(config)
DELTA_DIR = f"{RESULTS}/sweeps/delta"
SPLIT_DIR = f"{RESULTS}/sweeps/edit_distance"

rule train_delta:
    input:
        unpack(sweep_training_inputs(delta_pairs)),
    output:
        directory(f"{DELTA_DIR}/models/{{task}}/delta{{delta}}"),
    log:
        logfile("train_delta", "{task}/delta{delta}"),
    benchmark:
        benchfile("train_delta", "{task}/delta{delta}")
    wildcard_constraints:
        delta=r"\d+\.\d+",
    threads: config["threads"]
    params:
        method=asdict(method_spec(config, DELTA["method"])) if DELTA["tasks"] else {},
        settings=lambda wc: asdict(delta_settings(config, wc.task, float(wc.delta))),
    resources:
        **rule_resources("train_delta"),
    conda:
        "../envs/training.yaml"
    script:
        "../scripts/train_preference.py"


rule evaluate_delta:
    input:
        model=f"{DELTA_DIR}/models/{{task}}/delta{{delta}}",
        test=f"{RESULTS}/data/{{task}}/test.jsonl",
    output:
        predictions=f"{DELTA_DIR}/eval/{{task}}/delta{{delta}}/predictions.jsonl",
        scores=f"{DELTA_DIR}/eval/{{task}}/delta{{delta}}/scores.json",
    log:
        logfile("evaluate_delta", "{task}/delta{delta}"),
    benchmark:
        benchfile("evaluate_delta", "{task}/delta{delta}")
    wildcard_constraints:
        delta=r"\d+\.\d+",
    threads: config["threads"]
    params:
        **evaluation_params(f"{RESULTS}/cache/generation/evaluate_delta/{{task}}/delta{{delta}}.jsonl"),
    resources:
        **rule_resources("evaluate_delta"),
    conda:
        "../envs/evaluation.yaml"
    script:
        "../scripts/evaluate.py"


rule figure_delta:
    input:
        models=[delta_point(t, d)[0] for t in DELTA["tasks"] for d in DELTA["values"]],
        scores=[delta_point(t, d)[1] for t in DELTA["tasks"] for d in DELTA["values"]],
        reference=expand(f"{RESULTS}/eval/{{task}}/{DELTA['reference']}/scores.json", task=DELTA["tasks"]),
        sft=expand(f"{RESULTS}/eval/{{task}}/sft/scores.json", task=DELTA["tasks"]),
    output:
        csv=f"{DELTA_DIR}/delta.csv",
        png=f"{DELTA_DIR}/delta.png",
        pdf=f"{DELTA_DIR}/delta.pdf",
    log:
        logfile("figure_delta", "delta"),
    benchmark:
        benchfile("figure_delta", "delta")
    params:
        sweep=DELTA,
        main=[delta_is_main(config, t, d) for t in DELTA["tasks"] for d in DELTA["values"]],
        own_delta={t: preference_settings(config, t, DELTA["method"]).delta for t in DELTA["tasks"]},
        labels={m: c["label"] for m, c in config["methods"].items()},
        task_labels={t: c["label"] for t, c in config["tasks"].items()},
        study=STUDY,
    resources:
        **rule_resources("figure_delta"),
    conda:
        "../envs/tables.yaml"
    script:
        "../scripts/figure_delta.py"


rule split_pairs:
    input:
        pairs=f"{RESULTS}/pairs/{{task}}/bridged/main.jsonl",
        tokenizer=f"{RESULTS}/models/sft/{{task}}",
    output:
        splits=expand(f"{SPLIT_DIR}/pairs/{{{{task}}}}/split{{i}}.jsonl", i=range(1, SPLITS["k"] + 1)),
        summary=f"{SPLIT_DIR}/pairs/{{task}}/splits.json",
    log:
        logfile("split_pairs"),
    benchmark:
        benchfile("split_pairs")
    params:
        k=SPLITS["k"],
        unit=SPLITS["unit"],
    resources:
        **rule_resources("split_pairs"),
    conda:
        "../envs/training.yaml"
    script:
        "../scripts/split_pairs.py"


rule train_split:
    input:
        unpack(sweep_training_inputs(lambda wc: f"{SPLIT_DIR}/pairs/{wc.task}/split{wc.split}.jsonl")),
    output:
        directory(f"{SPLIT_DIR}/models/{{method}}/{{task}}/split{{split}}"),
    log:
        logfile("train_split", "{method}/{task}/split{split}"),
    benchmark:
        benchfile("train_split", "{method}/{task}/split{split}")
    wildcard_constraints:
        split=r"\d+",
    threads: config["threads"]
    params:
        method=lambda wc: asdict(method_spec(config, wc.method)),
        settings=lambda wc: asdict(preference_settings(config, wc.task, wc.method)),
    resources:
        **rule_resources("train_split"),
    conda:
        "../envs/training.yaml"
    script:
        "../scripts/train_preference.py"


rule evaluate_split:
    input:
        model=f"{SPLIT_DIR}/models/{{method}}/{{task}}/split{{split}}",
        test=f"{RESULTS}/data/{{task}}/test.jsonl",
    output:
        predictions=f"{SPLIT_DIR}/eval/{{task}}/{{method}}/split{{split}}/predictions.jsonl",
        scores=f"{SPLIT_DIR}/eval/{{task}}/{{method}}/split{{split}}/scores.json",
    log:
        logfile("evaluate_split", "{task}/{method}/split{split}"),
    benchmark:
        benchfile("evaluate_split", "{task}/{method}/split{split}")
    wildcard_constraints:
        split=r"\d+",
    threads: config["threads"]
    params:
        **evaluation_params(f"{RESULTS}/cache/generation/evaluate_split/{{task}}/{{method}}/split{{split}}.jsonl"),
    resources:
        **rule_resources("evaluate_split"),
    conda:
        "../envs/evaluation.yaml"
    script:
        "../scripts/evaluate.py"


rule figure_edit_distance:
    input:
        summaries=expand(f"{SPLIT_DIR}/pairs/{{task}}/splits.json", task=SPLITS["tasks"]),
        models=expand(f"{SPLIT_DIR}/models/{{method}}/{{task}}/split{{i}}", task=SPLITS["tasks"],
                      method=SPLITS["methods"], i=range(1, SPLITS["k"] + 1)),
        scores=expand(f"{SPLIT_DIR}/eval/{{task}}/{{method}}/split{{i}}/scores.json", task=SPLITS["tasks"],
                      method=SPLITS["methods"], i=range(1, SPLITS["k"] + 1)),
        sft=expand(f"{RESULTS}/eval/{{task}}/sft/scores.json", task=SPLITS["tasks"]),
    output:
        csv=f"{SPLIT_DIR}/edit_distance.csv",
        png=f"{SPLIT_DIR}/edit_distance.png",
        pdf=f"{SPLIT_DIR}/edit_distance.pdf",
    log:
        logfile("figure_edit_distance", "edit_distance"),
    benchmark:
        benchfile("figure_edit_distance", "edit_distance")
    params:
        sweep=SPLITS,
        methods={m: {"label": config["methods"][m]["label"], "pairs": config["methods"][m]["pairs"]}
                 for m in SPLITS["methods"]},
        task_labels={t: c["label"] for t, c in config["tasks"].items()},
        study=STUDY,
    resources:
        **rule_resources("figure_edit_distance"),
    conda:
        "../envs/tables.yaml"
    script:
        "../scripts/figure_edit_distance.py"


rule sweeps:
    input:
        rules.figure_delta.output,
        rules.figure_edit_distance.output,

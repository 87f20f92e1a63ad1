# Losing responses: the SFT model answers its training questions (batched sampling); y_w = gold solution,
# y_l = an incorrect sample. Questions answered correctly every time are dropped and counted.


rule sample_losing:
    input:
        model=f"{RESULTS}/models/sft/{{task}}",
        train=f"{RESULTS}/data/{{task}}/train.jsonl",
    output:
        pairs=f"{RESULTS}/pairs/{{task}}/sampled.jsonl",
        stats=f"{RESULTS}/pairs/{{task}}/sampled_stats.json",
    log:
        logfile("sample_losing"),
    benchmark:
        benchfile("sample_losing")
    wildcard_constraints:
        task=one_of(SFT_TRAINED_TASKS),
    threads: config["threads"]
    params:
        settings=asdict(sampling_settings(config)),
        batch_size=config["sampling"]["batch_size"],
        style=lambda wc: config["tasks"][wc.task]["prompt_style"],
    resources:
        **rule_resources("sample_losing"),
    conda:
        "../envs/inference.yaml"
    script:
        "../scripts/sample_losing.py"


# Tasks with a preference dataset (tasks.<t>.pairs, UltraFeedback binarized): y_w = chosen, y_l = rejected, in
# the same record format (bmc.data.training_data). Local rules: a hub download (pairs.download) runs on the host.
localrules:
    dataset_pairs,


rule dataset_pairs:
    input:
        dataset_pair_files,
    output:
        pairs=f"{RESULTS}/pairs/{{task}}/sampled.jsonl",
        stats=f"{RESULTS}/pairs/{{task}}/sampled_stats.json",
    log:
        logfile("dataset_pairs"),
    wildcard_constraints:
        task=one_of(PAIR_TASKS),
    params:
        data=lambda wc: pair_data_settings(config, wc.task),
        split="train",
    resources:
        **rule_resources("dataset_pairs"),
    conda:
        "../envs/tables.yaml"
    script:
        "../scripts/dataset_pairs.py"

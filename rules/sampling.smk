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

# Preference training of each method on each task: TRL's DPOTrainer extended for DPO-BMC.


rule train_preference:
    input:
        sft=f"{RESULTS}/models/sft/{{task}}",
        pairs=bridged_pairs,
    output:
        directory(f"{RESULTS}/models/{{method}}/{{task}}"),
    log:
        logfile("train_preference", "{method}/{task}"),
    benchmark:
        benchfile("train_preference", "{method}/{task}")
    threads: config["threads"]
    params:
        method=lambda wc: asdict(method_spec(config, wc.method)),
        settings=lambda wc: asdict(preference_settings(config, wc.task)),
    script:
        "../scripts/train_preference.py"

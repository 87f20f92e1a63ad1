# Preference training of each method on each task: TRL's DPOTrainer extended for DPO-BMC.


rule train_preference:
    input:
        unpack(preference_inputs),
    output:
        directory(f"{RESULTS}/models/{{method}}/{{task}}"),
    log:
        logfile("train_preference", "{method}/{task}"),
    benchmark:
        benchfile("train_preference", "{method}/{task}")
    threads: config["threads"]
    params:
        method=lambda wc: asdict(method_spec(config, wc.method)),
        settings=lambda wc: asdict(preference_settings(config, wc.task, wc.method)),
    resources:
        **rule_resources("train_preference"),
    conda:
        "../envs/training.yaml"
    script:
        "../scripts/train_preference.py"

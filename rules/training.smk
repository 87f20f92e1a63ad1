# Preference training of each method on each task: TRL's DPOTrainer extended for DPO-BMC. With
# seeds_in_one_job, one job trains every seed of the method (one output folder per seed: the first seed's
# under models/, the others' under seeds/seed<s>/models/); otherwise one job trains the first seed and
# rules/seeds.smk the others.


rule train_preference:
    input:
        unpack(preference_inputs),
    output:
        [directory(p) for p in seed_outputs("models/{method}/{task}")],
    log:
        logfile("train_preference", "{method}/{task}"),
    benchmark:
        benchfile("train_preference", "{method}/{task}")
    threads: config["threads"]
    priority: task_priority
    params:
        method=lambda wc: asdict(method_spec(config, wc.method)),
        settings=lambda wc: asdict(preference_settings(config, wc.task, wc.method)),
        seeds=ONE_JOB_SEEDS or [],  # empty: the settings' seed
    resources:
        **rule_resources("train_preference"),
    conda:
        "../envs/training.yaml"
    script:
        "../scripts/train_preference.py"

# Supervised fine-tuning per task with TRL's SFTTrainer on the paper's Instruction/Response template.


rule train_sft:
    input:
        base=rules.pretrain_base.output[0],
        train=f"{RESULTS}/data/{{task}}/train.jsonl",
    output:
        directory(f"{RESULTS}/models/sft/{{task}}"),
    log:
        logfile("train_sft"),
    benchmark:
        benchfile("train_sft")
    threads: config["threads"]
    params:
        settings=lambda wc: asdict(sft_settings(config, wc.task)),
        style=lambda wc: config["tasks"][wc.task]["prompt_style"],
    resources:
        **rule_resources("train_sft"),
    conda:
        "../envs/training.yaml"
    script:
        "../scripts/train_sft.py"

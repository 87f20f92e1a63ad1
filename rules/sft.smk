# Supervised fine-tuning per task with TRL's SFTTrainer on the paper's Instruction/Response template.


rule train_sft:
    input:
        base=f"{RESULTS}/models/base",
        train=f"{RESULTS}/data/{{task}}/train.jsonl",
    output:
        directory(f"{RESULTS}/models/sft/{{task}}"),
    log:
        logfile("train_sft"),
    benchmark:
        benchfile("train_sft")
    wildcard_constraints:
        task=one_of(SFT_TRAINED_TASKS),
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


# Tasks that start from a public SFT checkpoint (tasks.<t>.sft_model: the paper's instruction-following setups)
# get it linked from the Hugging Face cache instead: a local rule, so that on a cluster a download
# (sft_model.download) runs where the network is.
localrules:
    fetch_sft_model,


rule fetch_sft_model:
    output:
        directory(f"{RESULTS}/models/sft/{{task}}"),
    log:
        logfile("fetch_sft_model"),
    wildcard_constraints:
        task=one_of(PAIR_TASKS),
    params:
        model=lambda wc: config["tasks"][wc.task]["sft_model"],
        chat_template="model",  # the checkpoint's own template (Llama-3 / zephyr), as it was fine-tuned with
    resources:
        **rule_resources("fetch_sft_model"),
    conda:
        "../envs/training.yaml"
    script:
        "../scripts/fetch_hub_model.py"

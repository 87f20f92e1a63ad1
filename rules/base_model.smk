# The base model: a BPE tokenizer trained offline and a tiny Llama pretrained from scratch (the tiny studies), or
# a Hugging Face Hub model (base_model.hub, the paper's Llama-2-7B) linked from the cache with the paper's chat
# template on its tokenizer (bmc.models.hub_models). Only one of the two ways is defined for a study.

if BASE_FROM_HUB:

    localrules:
        fetch_base_model,

    rule fetch_base_model:
        output:
            directory(f"{RESULTS}/models/base"),
        log:
            logfile("fetch_base_model", "base"),
        params:
            model=config["base_model"],
            chat_template="paper",  # the official Llama-2 QA/math configs' Instruction/Response template
        resources:
            **rule_resources("fetch_base_model"),
        conda:
            "../envs/training.yaml"
        script:
            "../scripts/fetch_hub_model.py"

else:


    rule train_tokenizer:
        input:
            corpus=rules.pretraining_corpus.output[0],
            train=expand(f"{RESULTS}/data/{{task}}/train.jsonl", task=TASKS),
        output:
            directory(f"{RESULTS}/models/tokenizer"),
        log:
            logfile("train_tokenizer", "tokenizer"),
        benchmark:
            benchfile("train_tokenizer", "tokenizer")
        params:
            vocab_size=config["tokenizer"]["vocab_size"],
            styles={t: c["prompt_style"] for t, c in config["tasks"].items()},
        resources:
            **rule_resources("train_tokenizer"),
        conda:
            "../envs/training.yaml"
        script:
            "../scripts/train_tokenizer.py"


    rule pretrain_base:
        input:
            corpus=rules.pretraining_corpus.output[0],
            tokenizer=rules.train_tokenizer.output[0],
        output:
            directory(f"{RESULTS}/models/base"),
        log:
            logfile("pretrain_base", "base"),
        benchmark:
            benchfile("pretrain_base", "base")
        threads: workflow.cores
        params:
            shape=asdict(model_shape(config)),
            settings=asdict(pretrain_settings(config)),
        resources:
            **rule_resources("pretrain_base"),
        conda:
            "../envs/training.yaml"
        script:
            "../scripts/pretrain_base.py"

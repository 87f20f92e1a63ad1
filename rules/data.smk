# Synthetic data: per task, train/test splits in the record schema of the real data; and the plain-text
# pretraining corpus (never a test problem).


rule synthetic_task:
    output:
        train=f"{RESULTS}/data/{{task}}/train.jsonl",
        test=f"{RESULTS}/data/{{task}}/test.jsonl",
    log:
        logfile("synthetic_task"),
    benchmark:
        benchfile("synthetic_task")
    wildcard_constraints:
        task=one_of(SYNTHETIC_TASKS),
    params:
        task=lambda wc: synthetic_task_settings(config, wc.task),  # generator, seed, sizes, types: nothing else
    resources:
        **rule_resources("synthetic_task"),
    conda:
        "../envs/tables.yaml"
    script:
        "../scripts/make_task.py"


rule pretraining_corpus:
    input:
        expand(f"{RESULTS}/data/{{task}}/{{split}}.jsonl", task=SYNTHETIC_TASKS, split=["train", "test"]),
    output:
        f"{RESULTS}/data/corpus.jsonl",
    log:
        logfile("pretraining_corpus", "corpus"),
    benchmark:
        benchfile("pretraining_corpus", "corpus")
    params:
        corpus=config.get("corpus"),
        seed=config["seed"],
    resources:
        **rule_resources("pretraining_corpus"),
    conda:
        "../envs/tables.yaml"
    script:
        "../scripts/make_corpus.py"

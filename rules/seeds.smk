# Seed replicates (tasks.<t>.seeds[1:]): every method of a task trained again with another seed, from the same SFT
# model and pairs, and evaluated; the accuracy tables show mean ± std over a task's seeds. The stage scripts of
# train_preference and evaluate run on other outputs. Nothing here without a seeds list of two or more,
# nor with seeds_in_one_job (rules/training.smk and rules/evaluation.smk then cover every seed).


if not ONE_JOB_SEEDS:

    rule train_seed:
        input:
            unpack(preference_inputs),
        output:
            directory(f"{SEED_DIR}/seed{{seed}}/models/{{method}}/{{task}}"),
        log:
            logfile("train_seed", "seed{seed}/{method}/{task}"),
        benchmark:
            benchfile("train_seed", "seed{seed}/{method}/{task}")
        wildcard_constraints:
            seed=r"\d+",
        threads: config["threads"]
        params:
            method=lambda wc: asdict(method_spec(config, wc.method)),
            settings=lambda wc: asdict(replace(preference_settings(config, wc.task, wc.method), seed=int(wc.seed))),
        resources:
            **rule_resources("train_seed"),
        conda:
            "../envs/training.yaml"
        script:
            "../scripts/train_preference.py"


    rule evaluate_seed:
        input:
            model=f"{SEED_DIR}/seed{{seed}}/models/{{model}}/{{task}}",
            test=f"{RESULTS}/data/{{task}}/test.jsonl",
        output:
            predictions=f"{SEED_DIR}/seed{{seed}}/eval/{{task}}/{{model}}/predictions.jsonl",
            scores=f"{SEED_DIR}/seed{{seed}}/eval/{{task}}/{{model}}/scores.json",
        log:
            logfile("evaluate_seed", "seed{seed}/{task}/{model}"),
        benchmark:
            benchfile("evaluate_seed", "seed{seed}/{task}/{model}")
        wildcard_constraints:
            seed=r"\d+",
        threads: config["threads"]
        params:
            **evaluation_params(f"{RESULTS}/cache/generation/evaluate_seed/seed{{seed}}/{{task}}/{{model}}.jsonl"),
        resources:
            **rule_resources("evaluate_seed"),
        conda:
            "../envs/evaluation.yaml"
        script:
            "../scripts/evaluate.py"

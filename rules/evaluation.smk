# Evaluation of the SFT model and every method on the task's test split: official prompt, greedy decoding,
# official answer extraction; per-item predictions and a score file. With seeds_in_one_job, one job
# (evaluate_seeds) evaluates every seed of a method; otherwise one job per model and seed (rules/seeds.smk).


def evaluation_params(cache):
    """params of an evaluation job (also the sweeps' and the seeds'): decoding, prompt style, test sets, and the
    generation cache file(s) a crashed job resumes from."""
    return {"evaluation": config["evaluation"], "style": lambda wc: config["tasks"][wc.task]["prompt_style"],
            "test_sets": lambda wc: config["tasks"][wc.task]["test_sets"], "cache": cache}


rule evaluate:
    input:
        model=model_dir,
        test=f"{RESULTS}/data/{{task}}/test.jsonl",
    output:
        predictions=f"{RESULTS}/eval/{{task}}/{{model}}/predictions.jsonl",
        scores=f"{RESULTS}/eval/{{task}}/{{model}}/scores.json",
    log:
        logfile("evaluate", "{task}/{model}"),
    benchmark:
        benchfile("evaluate", "{task}/{model}")
    wildcard_constraints:
        task=one_of(SFT_TRAINED_TASKS),  # tasks with test sets (instruction following: rules/instruction_following.smk)
        model="sft" if ONE_JOB_SEEDS else "|".join(MODELS),
    threads: config["threads"]
    params:
        **evaluation_params(f"{RESULTS}/cache/generation/evaluate/{{task}}/{{model}}.jsonl"),
    resources:
        **rule_resources("evaluate"),
    conda:
        "../envs/evaluation.yaml"
    script:
        "../scripts/evaluate.py"


if ONE_JOB_SEEDS:

    rule evaluate_seeds:
        input:
            model=seed_outputs("models/{model}/{task}"),
            test=f"{RESULTS}/data/{{task}}/test.jsonl",
        output:
            predictions=seed_outputs("eval/{task}/{model}/predictions.jsonl"),
            scores=seed_outputs("eval/{task}/{model}/scores.json"),
        log:
            logfile("evaluate_seeds", "{task}/{model}"),
        benchmark:
            benchfile("evaluate_seeds", "{task}/{model}")
        wildcard_constraints:
            task=one_of(SFT_TRAINED_TASKS),
            model=one_of(METHODS),
        threads: config["threads"]
        params:
            **evaluation_params([f"{RESULTS}/cache/generation/evaluate/{{task}}/{{model}}/seed{s}.jsonl"
                                 for s in ONE_JOB_SEEDS]),
        resources:
            **rule_resources("evaluate"),
        conda:
            "../envs/evaluation.yaml"
        script:
            "../scripts/evaluate.py"

# Evaluation of the SFT model and every method on the task's test split: official prompt, greedy decoding,
# official answer extraction; per-item predictions and a score file. Jobs: one per model and seed (evaluate, and
# evaluate_seed in rules/seeds.smk); with seeds_in_one_job one per method (evaluate_seeds, every seed of it); with
# models_in_one_job one per task (evaluate_task: the SFT model and every seed of every method). The same script
# writes the same files in each case.

rule evaluate:  # the SFT model (and, without seeds_in_one_job, each method's main seed)
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
        task=one_of([] if EVAL_TASK_JOBS else SFT_TRAINED_TASKS),  # tasks with test sets (instruction following: rules/instruction_following.smk)
        model="sft" if ONE_JOB_SEEDS else "|".join(MODELS),  # with models_in_one_job: none (evaluate_task)
    threads: config["threads"]
    params:
        **evaluation_params(f"{RESULTS}/cache/generation/evaluate/{{task}}/{{model}}.jsonl"),
    resources:
        **rule_resources("evaluate"),
    conda:
        "../envs/evaluation.yaml"
    script:
        "../scripts/evaluate.py"


if ONE_JOB_SEEDS and not EVAL_TASK_JOBS:

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


TASK_MODELS = [("sft", None), *[(m, seed) for m in METHODS for seed in (ONE_JOB_SEEDS or [])]]

if EVAL_TASK_JOBS:

    rule evaluate_task:
        input:
            model=task_models("models/{model}/{task}"),
            test=f"{RESULTS}/data/{{task}}/test.jsonl",
        output:
            predictions=task_models("eval/{task}/{model}/predictions.jsonl"),
            scores=task_models("eval/{task}/{model}/scores.json"),
        log:
            logfile("evaluate_task", "{task}"),
        benchmark:
            benchfile("evaluate_task", "{task}")
        wildcard_constraints:
            task=one_of(SFT_TRAINED_TASKS),
        threads: config["threads"]
        priority: task_priority
        params:
            **evaluation_params([generation_cache("evaluate_task/{task}", m, s) for m, s in TASK_MODELS]),
        resources:
            **rule_resources("evaluate"),
        conda:
            "../envs/evaluation.yaml"
        script:
            "../scripts/evaluate.py"

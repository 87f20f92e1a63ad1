# Evaluation of the SFT model and every method on the task's test split: official prompt, greedy decoding,
# official answer extraction; per-item predictions and a score file.


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
    threads: config["threads"]
    params:
        evaluation=config["evaluation"],
        style=lambda wc: config["tasks"][wc.task]["prompt_style"],
        test_sets=lambda wc: config["tasks"][wc.task]["test_sets"],
        cache=f"{RESULTS}/cache/generation/evaluate/{{task}}/{{model}}.jsonl",
    resources:
        **rule_resources("evaluate"),
    conda:
        "../envs/evaluation.yaml"
    script:
        "../scripts/evaluate.py"

# Instruction following (paper Table 2): AlpacaEval 2 and Arena-Hard v0.1 answers of each configured task's
# models with a chat template and the official decoding (bmc.instruction_following), judged by alpaca_eval
# (length-controlled win rate vs GPT-4 Turbo) and arena-hard-auto (win rate vs GPT-4-0314) against an
# OpenAI-compatible endpoint (bmc.instruction_following.judges); the table2 rule (rules/tables.smk) puts them beside the paper, and
# Tables 5 and 9 take their IF column (AE2 LC) from them. Only with an `instruction_following:` config block;
# without it this file defines its rules but nothing requests them.
#
# The two judge rules are the study's only rules that need the network and an API key (the variable named by
# instruction_following.judge.api_key_env; never written anywhere). They check both before doing any work.
# Their caches live under instruction_following.judge.cache_dir (default results/<study>/cache/judges), not
# among rule outputs, so a rerun (or a rebuilt table) does not pay twice.
import sys

from bmc.instruction_following.prompt_sets import BENCHMARKS, PROMPT_SETS
from bmc.instruction_following.study import if_jobs, if_settings, judge_key_missing

IF = if_settings(config)
IF_JOBS = if_jobs(IF)
IF_CACHE = IF["judge"]["cache_dir"] if IF else f"{RESULTS}/cache/judges"

if IF:
    _missing_key = judge_key_missing(IF)
    if _missing_key:  # said once at parse time; the judge jobs themselves fail naming it too
        print(f"WARNING: {_missing_key}. The judge rules (judge_alpaca_eval, judge_arena_hard) and table2 "
              "cannot run, so `all` builds the instruction-following answer files only; set the variable and run "
              "`snakemake table2` (which also needs the network).", file=sys.stderr)
        IF_ALL = [if_answer_file(b, t, m) for b, t, m in IF_JOBS]
    else:
        IF_ALL = [f"{RESULTS}/tables/table2.csv"]
else:
    IF_ALL = []


localrules:  # the prompt download (download: true) and the judges' API calls run on the host, where the network is
    prepare_prompt_set,
    judge_alpaca_eval,
    judge_arena_hard,


rule prepare_prompt_set:
    input:
        if_prompt_inputs,
    output:
        f"{RESULTS}/if/prompts/{{benchmark}}.{{ext}}",
    log:
        logfile("prepare_prompt_set", "{benchmark}.{ext}"),
    benchmark:
        benchfile("prepare_prompt_set", "{benchmark}.{ext}")
    wildcard_constraints:
        benchmark="|".join(BENCHMARKS),
        ext="json|jsonl",
    params:
        source=lambda wc: IF["prompt_sets"][wc.benchmark],
        download=lambda wc: IF["download"],
    resources:
        **rule_resources("prepare_prompt_set"),
    conda:
        "../envs/tables.yaml"  # no torch: bmc.instruction_following imports bmc.models.generation only to generate
    script:
        "../scripts/prepare_prompt_set.py"


for _b in BENCHMARKS:

    rule:
        name:
            f"generate_{_b}"
        input:
            model=model_dir,
            prompts=if_prompt_file(_b),
        output:
            answers=if_answer_file(_b),
            stats=f"{RESULTS}/if/{_b}/{{task}}/{{model}}/generation.json",
        log:
            logfile(f"generate_{_b}", "{task}/{model}"),
        benchmark:
            benchfile(f"generate_{_b}", "{task}/{model}")
        threads: config["threads"]
        params:
            benchmark=_b,
            setup=if_setup,
            decoding=lambda wc, b=_b: asdict(IF["decoding"][b]),
            limit=lambda wc: IF["limit"],
            engine=lambda wc: IF["engine"],
            batch_size=lambda wc: IF["batch_size"],
            model_name=lambda wc: f"{STUDY}-{wc.task}-{wc.model}",
            cache=f"{RESULTS}/cache/generation/{_b}/{{task}}/{{model}}.jsonl",
        resources:
            **rule_resources(f"generate_{_b}"),
        conda:
            "../envs/inference.yaml"
        script:
            "../scripts/generate_if.py"


rule judge_alpaca_eval:
    input:
        answers=if_answer_file("alpaca_eval"),
        reference=if_prompt_file("alpaca_eval"),
    output:
        if_judge_file("alpaca_eval"),
    log:
        logfile("judge_alpaca_eval", "{task}/{model}"),
    benchmark:
        benchfile("judge_alpaca_eval", "{task}/{model}")
    params:
        judge=lambda wc: IF["judge"],
        cache=f"{IF_CACHE}/alpaca_eval/{{task}}/{{model}}",
    resources:
        **rule_resources("judge_alpaca_eval"),
    conda:
        "../envs/judging.yaml"
    script:
        "../scripts/judge_alpaca_eval.py"


rule judge_arena_hard:
    input:
        answers=if_answer_file("arena_hard"),
        questions=if_prompt_file("arena_hard"),
    output:
        if_judge_file("arena_hard"),
    log:
        logfile("judge_arena_hard", "{task}/{model}"),
    benchmark:
        benchfile("judge_arena_hard", "{task}/{model}")
    params:
        judge=lambda wc: IF["judge"],
        cache=f"{IF_CACHE}/arena_hard",
        workdir=f"{IF_CACHE}/arena_hard/{{task}}/{{model}}",
    resources:
        **rule_resources("judge_arena_hard"),
    conda:
        "../envs/judging.yaml"
    script:
        "../scripts/judge_arena_hard.py"

# The paper's tables, one named rule each (csv, md, tex under results/<study>/tables/), every cell beside the
# paper's number; the Table 1 bar chart. Which model stands for which paper row: bmc.report.paper_tables.table_rows.
from bmc.report.paper_tables import TABLES
from bmc.report.rows import dpo_reference, setup_name, table_rows

ACCURACY_TASKS = [t for t in TASKS if config["tasks"][t]["paper_setup"] in ("QA", "Math")]

for _table, _per_test_set in (("table1", True), ("table3", False), ("table5", False), ("table9", False)):

    rule:
        name:
            _table
        input:
            scores=[score_file(t, m, s) for t, m, s in seed_keys(_table)],
            judges=[if_judge_file("alpaca_eval", t, m) for t, m in judge_keys(_table)],
            predictions=[score_file(t, m, s, "predictions.jsonl") for t, m, s in paired_keys(_table)],
        output:
            **table_outputs(_table),
        log:
            logfile(_table, _table),
        benchmark:
            benchfile(_table, _table)
        params:
            **table_params(_table, _per_test_set, seeds=True),
            judge_keys=judge_keys(_table),
            paired_keys=paired_keys(_table),
            sft_rule="rule evaluate_task" if EVAL_TASK_JOBS else "rule evaluate",
            seeds_rule="rule evaluate_task" if EVAL_TASK_JOBS else "rule evaluate_seeds" if ONE_JOB_SEEDS else "rules evaluate, evaluate_seed",
            paired_reference=dpo_reference(config),
            judge_setups={t: s["paper_setup"] for t, s in IF["setups"].items()} if IF else {},
        resources:
            **rule_resources(_table),
        conda:
            "../envs/tables.yaml"
        script:
            "../scripts/make_table.py"


rule table2:
    input:
        scores=[if_judge_file(b, t, m) for b, t, m in IF_JOBS],
    output:
        **table_outputs("table2"),
    log:
        logfile("table2", "table2"),
    benchmark:
        benchfile("table2", "table2")
    params:
        table="table2",
        study=STUDY,
        score_keys=IF_JOBS,
        cells="judges",
        rows=table_rows(config, "table2"),
        setups={t: s["paper_setup"] for t, s in IF["setups"].items()} if IF else {},
        notes=[
            "AlpacaEval 2: length-controlled (LC) and raw win rate (WR, %) against the prompt file's reference "
            f"outputs ({', '.join(IF['prompt_sets']['alpaca_eval']['data_files'] or [IF['prompt_sets']['alpaca_eval']['hub_file']])}; "
            "each judge.json names the reference generator; AlpacaEval 2's is GPT-4 Turbo), judged by "
            f"{IF['judge']['model']} ({IF['judge']['alpaca_eval']['annotator']}); Len: average characters, "
            "alpaca_eval's avg_length. Arena-Hard v0.1: win rate (%) against "
            f"{IF['judge']['arena_hard']['baseline']}, judged by {IF['judge']['model']}; Len: average tokens.",
            "Decoding: " + "; ".join(f"{b} T {d.temperature}, top_p {d.top_p}, {d.max_new_tokens} new tokens"
                                     for b, d in IF["decoding"].items())
            + (f"; only the first {IF['limit']} prompts of each set (limit)" if IF["limit"] else ""),
        ] if IF else [],
    resources:
        **rule_resources("table2"),
    conda:
        "../envs/tables.yaml"  # no torch: bmc.instruction_following imports bmc.models.generation only to generate
    script:
        "../scripts/make_table.py"


rule figure_table1:
    input:
        rules.table1.output.csv,
    output:
        png=report(f"{RESULTS}/figures/table1.png", caption="../report/figure_table1.rst", category="Figures",
                   labels={"figure": "Table 1 bar chart", "format": "PNG"}),
        pdf=f"{RESULTS}/figures/table1.pdf",
    log:
        logfile("figure_table1", "figure_table1"),
    params:
        study=STUDY,
    resources:
        **rule_resources("figure_table1"),
    conda:
        "../envs/tables.yaml"
    script:
        "../scripts/figure_table1.py"

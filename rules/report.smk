# What the run was and what it cost, for the HTML report (`snakemake --report report.html`): the resolved
# study config with package versions, and the cost table (benchmark files per rule, editor tokens and cost).
from pathlib import Path

rule study_config:
    output:
        report(f"{RESULTS}/run/config.yaml", caption="../report/config.rst", category="Run",
               labels={"file": "study config"}),
    log:
        logfile("study_config", "study_config"),
    params:
        config=config,
    resources:
        **rule_resources("study_config"),
    conda:
        "../envs/tables.yaml"
    script:
        "../scripts/write_study_config.py"


rule cost_table:
    input:
        products=study_products,
        stats=expand(rules.bridge_pairs.output.stats, task=TASKS, bset=BRIDGED_SETS),
    output:
        csv=report(f"{RESULTS}/tables/cost.csv", caption="../report/cost.rst", category="Cost",
                   labels={"table": "compute per rule", "format": "CSV"}),
        editors=report(f"{RESULTS}/tables/cost_editor.csv", caption="../report/cost.rst", category="Cost",
                       labels={"table": "editor tokens and cost", "format": "CSV"}),
        md=f"{RESULTS}/tables/cost.md",
    log:
        logfile("cost_table", "cost_table"),
    params:
        study=STUDY,
        benchmarks=f"{RESULTS}/benchmarks",
        stats_keys=[(t, b) for t in TASKS for b in BRIDGED_SETS],
        prices={b: editor_spec(config, b).get(PRICE_KEY) for b in BRIDGED_SETS},
        stages=lambda wc: rule_stages(),
        gpus=lambda wc: rule_gpus(),
    resources:
        **rule_resources("cost_table"),
    conda:
        "../envs/tables.yaml"
    script:
        "../scripts/make_cost_table.py"

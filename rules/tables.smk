# Tables and figures from the score files: Table 1 beside the paper's numbers.


rule table1:
    input:
        scores=expand(f"{RESULTS}/eval/{{task}}/{{model}}/scores.json", task=TASKS, model=MODELS),
    output:
        csv=f"{RESULTS}/tables/table1.csv",
        md=f"{RESULTS}/tables/table1.md",
        png=f"{RESULTS}/tables/table1.png",
    log:
        logfile("table1", "table1"),
    benchmark:
        benchfile("table1", "table1")
    params:
        study=STUDY,
        tasks=TASKS,
        models=MODELS,
        setups=[
            {"task": t, "label": c["label"], "paper_setup": c["paper_setup"], "test_sets": list(c["test_sets"])}
            for t, c in config["tasks"].items()
        ],
        labels={"sft": "SFT", **{m: c["label"] for m, c in config["methods"].items()}},
        notes=table1_notes(),
    script:
        "../scripts/make_table1.py"

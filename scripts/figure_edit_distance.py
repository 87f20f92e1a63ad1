"""Rule figure_edit_distance: per task, split and method the score and mean gradient norm (CSV and figure),
the paper's Figure 5 beside."""
from bmc.runtime import log_to

log = log_to(snakemake.log[0])

from bmc.io import read_json, write_text  # noqa: E402
from bmc.report.figures import edit_distance_figure  # noqa: E402
from bmc.report.sweeps import edit_distance_frame, load_paper_edit_distance  # noqa: E402

p = snakemake.params
sweep, inp = p.sweep, snakemake.input
models, scores = iter(inp.models), iter(inp.scores)  # expand() order: task, method, split
points = []
for t, task in enumerate(sweep["tasks"]):
    summary = read_json(inp.summaries[t])
    if summary["k"] != sweep["k"]:
        raise SystemExit(f"{inp.summaries[t]}: cut into {summary['k']} splits, the config asks for {sweep['k']}")
    for method in sweep["methods"]:
        for split in summary["splits"]:
            points.append({"task": task, "split": split, "method": p.methods[method]["label"],
                           "trains_on": p.methods[method]["pairs"], "scores": read_json(next(scores)),
                           "run_info": read_json(f"{next(models)}/run_info.json"), "sft_scores": read_json(inp.sft[t])})
frame = edit_distance_frame(points)
write_text(snakemake.output.csv, frame.to_csv(index=False, float_format="%.4g"))
edit_distance_figure(frame, load_paper_edit_distance(), p.task_labels, p.study,
                     [snakemake.output.png, snakemake.output.pdf])
log.info("\n%s", frame.to_string())

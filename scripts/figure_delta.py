"""Rule figure_delta: the δ sweep's CSV (task, δ, score, mean gradient norm) and figure, the paper's beside."""
from bmc.runtime import log_to

log = log_to(snakemake.log[0])

from bmc.io import read_json, write_text  # noqa: E402
from bmc.report.figures import delta_figure  # noqa: E402
from bmc.report.sweeps import delta_frame, load_paper_delta  # noqa: E402

p = snakemake.params
sweep, inp = p.sweep, snakemake.input
points, k = [], 0
for t, task in enumerate(sweep["tasks"]):
    for delta in sweep["values"]:
        points.append({"task": task, "delta": delta, "method": p.labels[sweep["method"]],
                       "source": "main study" if p.main[k] else "sweep",
                       "scores": read_json(inp.scores[k]), "run_info": read_json(f"{inp.models[k]}/run_info.json"),
                       "reference_method": p.labels[sweep["reference"]], "reference_scores": read_json(inp.reference[t]),
                       "sft_scores": read_json(inp.sft[t])})
        k += 1
frame = delta_frame(points)
write_text(snakemake.output.csv, frame.to_csv(index=False, float_format="%.4g"))
delta_figure(frame, load_paper_delta(), p.own_delta, p.task_labels, p.study, [snakemake.output.png, snakemake.output.pdf])
log.info("\n%s", frame.to_string())

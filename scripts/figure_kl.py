"""Rule figure_kl: KL(pi_ref || pi_theta) on held-out chosen responses over training steps, per method and task
(paper Figure 4), from the KL records each training run logged (run_info.json)."""
from bmc.runtime import log_to

log = log_to(snakemake.log[0])

from bmc.analysis.rewards import kl_frame  # noqa: E402
from bmc.io import read_json, write_text  # noqa: E402
from bmc.report.figures import kl_figure  # noqa: E402

p = snakemake.params
runs = [{"task": task, "method": p.labels[method], "run_info": read_json(f"{model}/run_info.json"), "model": model}
        for (task, method), model in zip(p.runs, snakemake.input.models, strict=True)]
frame = kl_frame(runs)
write_text(snakemake.output.csv, frame.to_csv(index=False, float_format="%.6g"))
kl_figure(frame, p.task_labels, p.study, [snakemake.output.png, snakemake.output.pdf])
log.info("KL records: %d from %d runs", len(frame), len(runs))

"""Rule training_diagnostics: per method, task and seed, what preference training did (training log, held-out
rewards, accuracy against SFT), the pre-registered bars (analysis.bars), and the training curves."""
from bmc.runtime import log_to

log = log_to(snakemake.log[0])

from bmc.analysis.training import bar_checks, curves, markdown, run_row, training_frame  # noqa: E402
from bmc.io import read_json, write_text  # noqa: E402
from bmc.report.figures import training_curves_figure  # noqa: E402

p, inp, out = snakemake.params, snakemake.input, snakemake.output
rewards = dict(zip(map(tuple, p.reward_keys), inp.rewards, strict=True))
sft = dict(zip(p.tasks, inp.sft_scores, strict=True))
rows, runs = [], []
for (task, method, seed), model, scores in zip(p.runs, inp.models, inp.scores, strict=True):
    where = f"{model}/run_info.json"
    info = read_json(where)
    summary = read_json(rewards[(task, method, seed)]) if (task, method, seed) in rewards else None
    rows.append(run_row(task, method, p.labels[method], seed, info, read_json(scores), read_json(sft[task]), summary,
                        where))
    runs.append({"task": task, "method": method, "label": p.labels[method], "seed": seed, "curve": curves(info, where)})
frame = training_frame(rows)
checks = bar_checks(frame, p.bars) if p.bars else None
write_text(out.csv, frame.to_csv(index=False, float_format="%.6g"))
write_text(out.md, markdown(frame, checks, p.study, p.task_labels))
training_curves_figure(runs, p.task_labels, p.study, [out.png, out.pdf])
log.info("%d runs%s", len(rows), "" if checks is None else f"; bars met: {int(checks['met'].sum())}/{len(checks)}")

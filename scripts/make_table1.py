"""Rule table1: Table 1 (csv, md) and its figure (png) from the score files, beside the paper's numbers."""
from bmc.runtime import log_to

log = log_to(snakemake.log[0])

from bmc.figures import table1_figure  # noqa: E402
from bmc.io import read_json, write_text  # noqa: E402
from bmc.tables import SetupColumns, table1_frame, table1_markdown  # noqa: E402

p = snakemake.params
paths = iter(snakemake.input.scores)  # expand() order: task-major, then model
scores = {(task, p.labels[model]): read_json(next(paths)) for task in p.tasks for model in p.models}
setups = [SetupColumns(s["task"], s["label"], s["paper_setup"], tuple(s["test_sets"])) for s in p.setups]
frame = table1_frame(scores, setups, [p.labels[m] for m in p.models])
write_text(snakemake.output.csv, frame.to_csv(float_format="%.2f"))
write_text(snakemake.output.md, table1_markdown(frame, setups, p.study, p.notes))
table1_figure(frame, setups, p.study, snakemake.output.png)
log.info("\n%s", frame.to_string())

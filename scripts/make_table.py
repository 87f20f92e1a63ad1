"""Rules table1, table3, table4, table5, table9 (and the others): one paper table (csv, md, tex) from this run's
files (score files, or reward summaries for Table 4), beside the paper's numbers."""
from bmc.runtime import log_to

log = log_to(snakemake.log[0])

from bmc.io import read_json, write_text  # noqa: E402
from bmc.paper_tables import accuracy_cells, compare, reward_cells, to_latex, to_markdown  # noqa: E402

p = snakemake.params
summaries = {(task, model): (read_json(path), path)
             for (task, model), path in zip(p.score_keys, snakemake.input.scores, strict=True)}
if p.get("cells") == "rewards":
    cells = reward_cells(summaries, p.rows, p.setups)
else:
    cells = accuracy_cells(summaries, p.rows, p.setups, per_test_set=p.per_test_set)
frame = compare(p.table, cells)
write_text(snakemake.output.csv, frame.to_csv(index=False, float_format="%.4g"))
write_text(snakemake.output.md, to_markdown(p.table, frame, p.study, p.notes))
write_text(snakemake.output.tex, to_latex(p.table, frame, p.study))
log.info("%s: %d reproduced cells, %d paper cells", p.table, frame["ours"].notna().sum(), frame["paper"].notna().sum())

"""Rule table2: paper Table 2 (AlpacaEval 2 LC/WR, Arena-Hard WR, lengths) from the judge results, beside the
paper's numbers (csv, md, tex); missing cells stay missing."""
from bmc.runtime import log_to

log = log_to(snakemake.log[0])

from bmc.instruction_following import table2_cells  # noqa: E402
from bmc.io import read_json, write_text  # noqa: E402
from bmc.paper_tables import compare, to_latex, to_markdown  # noqa: E402

p = snakemake.params
results = {tuple(key): (read_json(path), path)
           for key, path in zip(p.result_keys, snakemake.input.results, strict=True)}
frame = compare(p.table, table2_cells(results, p.rows, p.setups))
write_text(snakemake.output.csv, frame.to_csv(index=False, float_format="%.4g"))
write_text(snakemake.output.md, to_markdown(p.table, frame, p.study, p.notes))
write_text(snakemake.output.tex, to_latex(p.table, frame, p.study))
log.info("table2: %d reproduced cells, %d paper cells", frame["ours"].notna().sum(), frame["paper"].notna().sum())

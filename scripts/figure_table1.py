"""Rule figure_table1: Table 1 as a bar chart (png, pdf): each method's change over SFT, this run beside the paper."""
from bmc.runtime import log_to

log = log_to(snakemake.log[0])

import pandas as pd  # noqa: E402

from bmc.report.figures import table1_figure  # noqa: E402

table1_figure(pd.read_csv(snakemake.input[0], keep_default_na=False, na_values=[""]), snakemake.params.study,
              [snakemake.output.png, snakemake.output.pdf])

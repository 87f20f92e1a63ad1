"""The report stage (rules/tables.smk, rules/report.smk and the figures of rules/sweeps.smk; the paper's Tables
1-5 and 9, its figures and the cost table): reproduced values beside the paper's (package data in
``bmc/report/paper/``), the figures, the sweeps' frames and the costs.

Modules: ``paper_tables`` (the paper's values, comparison, Markdown/HTML/LaTeX), ``rows`` (which model is which
row, the cells from this run's files), ``figures``, ``sweeps`` (the δ and edit-distance frames), ``costs``.
"""

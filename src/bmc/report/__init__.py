"""The report stage (rules/tables.smk, rules/report.smk, rules/sweeps.smk' figures; the paper's Tables 1-5 and 9,
its figures and the cost table): reproduced values beside the paper's (package data in ``bmc/report/paper/``),
the figures, the sweeps' frames and the costs.
"""

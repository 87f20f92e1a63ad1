"""The analysis stage (rules/analysis.smk, rules/sweeps.smk; paper Table 4, Figures 4-6): held-out
pairs, implicit and token-level rewards, KL to the reference, edit-distance splits and paired significance.
"""

"""The analysis stage (rules/analysis.smk, rules/sweeps.smk; paper Table 4, Figures 4-6): held-out
pairs, implicit and token-level rewards, KL to the reference, edit-distance splits and paired significance.

Modules: ``heldout`` (held-out chosen responses and pairs), ``rewards`` (implicit and token rewards, KL),
``splits`` (edit-distance splits of the pairs), ``significance`` (paired differences over seeds and questions),
``training`` (training diagnostics and pre-registered bars of preference training).
"""

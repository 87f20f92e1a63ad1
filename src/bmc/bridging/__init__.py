"""The bridging stage (rules/bridging.smk; paper §3.1 Bridging phase, Figures 7 and 8 and Table 3's directions):
the pseudo-winning responses ỹ_w an editor writes from y_l (or the degraded ỹ_l), with the editors behind one
interface (``bmc.bridging.editors``).
"""

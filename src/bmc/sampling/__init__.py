"""The sampling stage (rules/sampling.smk; paper §3.1, the losing responses y_l sampled from the SFT
model): the training prompts and the pairs (y_w = gold, y_l = a wrong sample).

Modules: ``losing`` (the SFT model's samples on its training questions, the pairs).
"""

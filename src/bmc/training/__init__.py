"""The training stages (rules/sft.smk, rules/training.smk, rules/seeds.smk; paper §3.2 Modeling phase, Eq.
4-6, and the paper's training details): SFT, preference training with DPO-BMC (the BMC extension of TRL's
``DPOTrainer``, its token masks and losses, the baselines of Table 5), checkpoints and the multi-GPU launch.

Modules: ``sft``, ``preference`` (a method's training run), ``trainer`` (BMC on TRL's ``DPOTrainer``),
``masks``, ``losses``, ``checkpoints``, ``launch``.
"""

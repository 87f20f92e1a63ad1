"""The instruction-following stage (rules/instruction_following.smk; paper Table 2; official
``eval/alpacaeval2`` and ``eval/arenahard``): the AlpacaEval 2 and Arena-Hard v0.1 prompt sets, the answers
with each model's chat template, and the judges.

Modules: ``prompt_sets``, ``answers`` (chat templates, decoding, answer files), ``study`` (the config block,
Table 2's cells), ``judges`` (the endpoint both judges share), ``alpaca_eval``, ``arena_hard``.
"""

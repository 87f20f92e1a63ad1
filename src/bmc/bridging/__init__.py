"""The bridging stage (rules/bridging.smk; paper §3.1 Bridging phase, Figures 7 and 8 and Table 3's directions):
the pseudo-winning responses ỹ_w an editor writes from y_l (or the degraded ỹ_l), with the editors behind one
interface (``bmc.bridging.editors``).

Modules: ``bridge`` (the phase over a pair file: which pairs, the editor call, the filters, the stats) and
``editors`` (``rule``, ``openai_http``, ``vllm_backend``, ``hf_backend``, their shared ``prompted`` layer and
the ``registry`` that builds one from the config).
"""

"""The paper, DPO-BMC (Jiang et al., ICLR 2025, "Bridging and Modeling Correlations in Pairwise Data for
Direct Preference Optimization"), as a library: one subpackage per stage of the workflow (``rules/<stage>.smk`` ->
``scripts/<step>.py`` -> ``bmc.<stage>``), over shared modules that import no stage.

Shared: :mod:`bmc.settings` (typed settings, standard library only), :mod:`bmc.config` (the study config),
:mod:`bmc.io`, :mod:`bmc.cache`, :mod:`bmc.runtime`, :mod:`bmc.provenance`, :mod:`bmc.templates`. Stages:
``data``, ``models``, ``training``, ``sampling``, ``bridging``, ``evaluation``, ``instruction_following``,
``analysis``, ``report``, ``cluster``. ``tests/test_layout.py`` keeps the import graph acyclic and shared
modules free of stage imports.
"""

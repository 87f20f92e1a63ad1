"""Cluster resources (rules/common.smk's per-rule resources, profiles/slurm; the paper's training on 4x80 GB GPU
nodes): each rule's GPUs, CPUs, memory and time from the study config, and the GPU check of a job.

Modules: ``resources`` (per-rule resources and the GPU check), ``plan`` (what a study will cost before it runs:
jobs, GPU-hours, API requests and dollars; ``python -m bmc.cluster.plan``).
"""

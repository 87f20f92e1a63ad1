# The DPO-BMC study (Jiang et al., ICLR 2025) as a graph of files.
#
#   snakemake --cores 2                         # the tiny study (configs/tiny.yaml), offline
#   snakemake --cores 2 table1                  # one named target
#   snakemake --configfile configs/<study>.yaml # another study (a complete config file)
#   snakemake --profile profiles/slurm all      # the paper study (configs/paper.yaml) on a SLURM cluster
#
# Stages, one rule file each: data -> base model -> SFT -> sampling -> bridging -> preference training
# -> evaluation -> analyses -> tables, figures, report.
import os

from snakemake.utils import min_version, validate

min_version("9.0")

if not config.get("study"):  # no study config given: the tiny study

    configfile: os.path.join(workflow.basedir, "configs", "tiny.yaml")


validate(config, "configs/schema.yaml")


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/resources.smk"
include: "rules/data.smk"
include: "rules/paper_data.smk"
include: "rules/base_model.smk"
include: "rules/sft.smk"
include: "rules/sampling.smk"
include: "rules/bridging.smk"
include: "rules/training.smk"
include: "rules/evaluation.smk"
include: "rules/instruction_following.smk"  # AlpacaEval 2 / Arena-Hard answers and judges (Table 2)
include: "rules/tables.smk"
include: "rules/analysis.smk"  # held-out rewards (Table 4), KL curves, token rewards
include: "rules/report.smk"
include: "rules/sweeps.smk"  # named targets figure_delta, figure_edit_distance, sweeps (in all: sweeps.in_all)
include: "rules/seeds.smk"  # replicates of preference training for tasks.<t>.seeds[1:]


rule all:
    default_target: True
    input:
        rules.table1.output,
        rules.table3.output,
        rules.table5.output,
        rules.table9.output,
        IF_ALL,  # table2 (or, without the judge's key, the answer files); empty without the block
        analysis_targets(),
        rules.figure_table1.output,
        rules.study_config.output,
        rules.cost_table.output,
        expand(rules.bridge_pairs.output.stats, task=TASKS, bset=BRIDGED_SETS),
        # the figure sweeps (delta, edit-distance splits): named targets, in `all` only with sweeps.in_all
        rules.sweeps.input if (config.get("sweeps") or {}).get("in_all") else [],

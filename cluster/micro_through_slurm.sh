#!/usr/bin/env bash
# The micro study through real SLURM jobs (CI): `snakemake --profile profiles/slurm` on the cluster that
# cluster/slurm_localhost.sh brings up, then checks the targets and that the jobs ran in SLURM.
#
#   cluster/micro_through_slurm.sh [WORKDIR]              # default WORKDIR: a fresh folder under /tmp
#   MICRO_SLURM_TARGETS=all cluster/micro_through_slurm.sh   # the whole micro study (every rule of `all`)
#
# Default targets: the micro study's chain to one trained and evaluated model (DPO-BMC on QA) plus the
# study config record: every stage once (data, tokenizer, base model, SFT on the fake GPU, sampling,
# bridging, preference training, evaluation), 12 jobs. CI runs `all` (MICRO_SLURM_TARGETS=all: 88 jobs in 10
# SLURM jobs, every table and figure). Each SLURM job starts Snakemake twice (the sbatch script, then srun),
# and each job runs its script in a fresh Python process (torch, transformers, TRL). Measured on the 2-core
# build machine, nothing else running: 11 min 4 s for `all` (it was 35 min while parsing the workflow
# imported torch: bmc.settings now keeps the parse light).
# Jobs go to SLURM as group jobs (Snakemake --groups, a standard cluster feature; inside a group job
# Snakemake runs the group's jobs one by one), which saves the sbatch, the outer start-up and the polling
# per job:
#   base   data, tokenizer, base model           sft     the SFT jobs, on the one fake GPU (--gpus=1)
#   lane   per task (and per independent chain): sampling, bridging, training, evaluation, analyses
#   tables the tables and figures, four to a group job    study_config, cost_table: jobs of their own
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
SNAKEMAKE=${SNAKEMAKE:-$REPO/.venv/bin/snakemake}
WORK=${1:-$(mktemp -d /tmp/micro-slurm.XXXXXX)}
TARGETS=${MICRO_SLURM_TARGETS:-results/micro/eval/qa/dpo_bmc/scores.json results/micro/run/config.yaml}
mkdir -p "$WORK"
cd "$REPO"

groups=()
for rule in $("$SNAKEMAKE" --configfile configs/micro.yaml --list-rules 2>/dev/null); do
  case "$rule" in
    all|sweeps|study_config|nltk_stopwords|cost_table) ;;
    synthetic_task|pretraining_corpus|train_tokenizer|pretrain_base) groups+=("$rule=base") ;;
    train_sft) groups+=("$rule=sft") ;;
    table*|figure_*) groups+=("$rule=tables") ;;
    *) groups+=("$rule=lane") ;;
  esac
done

start=$(date +%s)
# on timeout SIGINT (not TERM): the plugin then scancels its jobs
set +e
timeout -s INT -k 60 "${MICRO_SLURM_TIMEOUT:-2700}" "$SNAKEMAKE" --profile profiles/slurm \
  --snakefile "$REPO/Snakefile" --directory "$WORK" --configfile "$REPO/configs/micro.yaml" \
  --groups "${groups[@]}" --group-components base=1 sft=2 lane=1 tables=4 \
  --cores 1 --resources gpu=1 -- $TARGETS
rc=$?
set -e
echo "micro study through SLURM: rc=$rc, $(( $(date +%s) - start )) s, workdir $WORK"
[ "$rc" -eq 0 ] || { tail -n 50 "$WORK"/.snakemake/slurm_logs/*/*.log "$WORK"/.snakemake/slurm_logs/*/*/*.log 2>/dev/null | tail -n 120; exit "$rc"; }

# evidence: the targets, and one SLURM log per SLURM job (the plugin keeps them: slurm-keep-successful-logs)
for target in $TARGETS; do
  if [ "$target" = all ]; then target=results/micro/tables/table1.csv; fi
  test -s "$WORK/$target" || { echo "missing after the SLURM run: $target" >&2; exit 1; }
done
logs=$(find "$WORK/.snakemake/slurm_logs" -name '*.log' | wc -l)
gpu_logs=$(find "$WORK/.snakemake/slurm_logs" -path '*sft*' -name '*.log' | wc -l)
echo "SLURM jobs (one log each): $logs, of them on the fake GPU (SFT): $gpu_logs"
grep -h "^localrule" "$WORK"/.snakemake/slurm_logs/*/*.log | sort | uniq -c || true
[ "$logs" -ge 3 ] && [ "$gpu_logs" -ge 1 ]

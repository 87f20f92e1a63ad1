#!/usr/bin/env bash
# One preference-training job with 2 (fake) GPUs through SLURM (CI): one sbatch, one `accelerate launch`, two
# ranks, ZeRO-3 (the project's accelerate config), on the cluster cluster/slurm_localhost.sh brings up (two fake
# GPUs, no CUDA: distributed.cpu_processes runs the ranks on the CPU). Then the same job with one process, here,
# and the two models compared (weights to 1e-4).
#
#   cluster/two_gpus_through_slurm.sh MICRO_WORKDIR [WORKDIR]
#
# MICRO_WORKDIR: a folder where the micro study ran (cluster/micro_through_slurm.sh); it is copied, so only the
# DPO-BMC QA training job runs again (its resources and batch change): 2 GPUs, per-device batch 4, global batch 8,
# reference log-probs precomputed.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
SNAKEMAKE=${SNAKEMAKE:-$REPO/.venv/bin/snakemake}
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
MICRO=${1:?usage: $0 MICRO_WORKDIR [WORKDIR]}
WORK=${2:-$(mktemp -d /tmp/two-gpus-slurm.XXXXXX)}
mkdir -p "$WORK"
cp -a "$MICRO/." "$WORK/"
rm -rf "$WORK/.snakemake/slurm_logs" "$WORK/.snakemake/locks" "$WORK/.snakemake/incomplete"
cat > "$WORK/two_gpus.yaml" <<'YAML'
# the micro study's DPO-BMC trained on 2 GPUs (cluster/two_gpus_through_slurm.sh)
distributed: {accelerate_config: configs/accelerate/deepspeed_zero3.yaml, cpu_processes: true}
resources:
  train_preference: {gpu: 2, cpus_per_gpu: 1, mem_mb: 6000, runtime: 30}
methods:
  dpo_bmc: {preference: {batch_size: 4, global_batch_size: 8, precompute_ref_log_probs: true}}
YAML
MODEL=results/micro/models/dpo_bmc/qa
LOG=$WORK/results/micro/logs/train_preference/dpo_bmc/qa.log

start=$(date +%s)
set +e
timeout -s INT -k 60 "${TWO_GPUS_TIMEOUT:-1500}" "$SNAKEMAKE" --profile profiles/slurm \
  --snakefile "$REPO/Snakefile" --directory "$WORK" --configfile "$REPO/configs/micro.yaml" "$WORK/two_gpus.yaml" \
  --cores 1 --resources gpu=2 --allowed-rules train_preference -- "$MODEL"
rc=$?
set -e
echo "2-GPU training job through SLURM: rc=$rc, $(( $(date +%s) - start )) s, workdir $WORK"
[ "$rc" -eq 0 ] || { tail -n 80 "$WORK"/.snakemake/slurm_logs/*/*/*.log "$LOG" 2>/dev/null | tail -n 160; exit "$rc"; }

# evidence: one SLURM job for the rule, one accelerate launch of 2 processes, each seed trained by both ranks
logs=$(find "$WORK/.snakemake/slurm_logs" -path '*train_preference*' -name '*.log' | wc -l)
[ "$logs" -eq 1 ] || { echo "expected one SLURM job for train_preference, found $logs logs" >&2; exit 1; }
grep -q "2 CPU processes stand in for the job's 2 GPUs" "$LOG" || { echo "no 2-process launch in $LOG" >&2; exit 1; }
launches=$(grep -c "2 GPUs: launching" "$LOG")
ranks=$(grep -c "trained DPO-BMC, seed 0" "$LOG")
echo "accelerate launches: $launches, ranks that trained seed 0: $ranks"
[ "$launches" -eq 1 ] && [ "$ranks" -eq 2 ] || { echo "expected 1 launch and 2 ranks" >&2; exit 1; }

# the same job, one process, with the same global batch; then the models compared
REPO="$REPO" "$PYTHON" - "$WORK" "$LOG.job.json" <<'PY'
import json, os, subprocess, sys
from pathlib import Path
from safetensors.torch import load_file
work, job_file = Path(sys.argv[1]), Path(sys.argv[2])
job = json.loads(job_file.read_text())
assert job["resources"]["named"]["gpu"] == 2, job["resources"]
outs = [str(work / "one_process" / f"seed{i}") for i in range(len(job["output"]["values"]))]
job["resources"]["named"]["gpu"] = 1
job["output"] = {"values": outs, "named": {}}
one = work / "one_process" / "job.json"
one.parent.mkdir(parents=True, exist_ok=True)
one.write_text(json.dumps(job))
repo = Path(os.environ.get("REPO", "."))
done = subprocess.run([sys.executable, str(repo / "scripts" / "train_preference.py"), "--job", str(one)], cwd=work,
                      env={**os.environ, "PYTHONPATH": str(repo / "src")}, capture_output=True, text=True)
if done.returncode:
    sys.exit(f"the one-process run failed:\n{done.stderr[-4000:]}")
two_outs = json.loads(job_file.read_text())["output"]["values"]
for a, b in zip(two_outs, outs):
    two = json.loads((work / a / "run_info.json").read_text())["result"]
    assert two["processes"] == 2 and two["global_batch_size"] == 8, two
    w2, w1 = load_file(work / a / "model.safetensors"), load_file(Path(b) / "model.safetensors")
    worst = max((w2[k].float() - w1[k].float()).abs().max().item() for k in w2)
    print(f"{a}: 2 processes vs 1, largest weight difference {worst:.2e}")
    assert worst <= 1e-4, worst
PY

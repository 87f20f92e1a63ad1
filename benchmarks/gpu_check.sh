#!/usr/bin/env bash
# The GPU check: one command, on a machine with one CUDA GPU and no network, that measures what the paper
# scale depends on and writes one markdown summary.
#
#   benchmarks/gpu_check.sh [SUMMARY.md]      # default: $OUT/gpu_check.md if $OUT is set, else
#                                             #          results/gpu_check/summary.md
#
#   (a) benchmarks/bmc_overhead.py --preset 1b --precision bf16: DPO vs DPO-BMC (the default per-batch marks, the
#       official per-forward recompute, per-pair masks) step time, tokens/s and peak GPU memory on a randomly
#       initialised 1.1B Llama;
#   (b) benchmarks/generation_batching.py on that same 1.1B model (saved once, bf16): one prompt per call vs
#       batched, transformers, plus vLLM's one batched call where vllm is importable;
#   (c) the micro study's chain (configs/micro.yaml) to the evaluation scores of the SFT model and of DPO on
#       QA, with Snakemake in a fresh folder, on CUDA (12 jobs: data, tokenizer, pretraining, SFT, sampling,
#       bridging, DPO training, two evaluations).
#
# Each part runs under its own time limit (GPU_CHECK_LIMIT_A/B/C seconds; defaults 200/130/120 s on a GPU, so
# the whole check stays under 8 minutes on one H200-class GPU); a part that fails or runs out of time is
# reported as such in the summary, and the script goes on. Exit status: 0 when every part passed.
# Without CUDA (or with GPU_CHECK_MODE=cpu) the same three parts run at toy sizes on the CPU (the tiny
# preset, a tiny random model), so that the script itself is tested (tests/test_gpu_check.py).
# The logs of each part go to gpu_check_logs/ beside the summary. Needs the project's .venv (make setup);
# PYTHON and SNAKEMAKE override the interpreters. Offline: HF_HUB_OFFLINE=1 and friends are set here.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-$REPO/.venv/bin/python}
SNAKEMAKE=${SNAKEMAKE:-$REPO/.venv/bin/snakemake}
if [ $# -ge 1 ]; then SUMMARY=$1
elif [ -n "${OUT:-}" ]; then SUMMARY=$OUT/gpu_check.md
else SUMMARY=$REPO/results/gpu_check/summary.md
fi
mkdir -p "$(dirname "$SUMMARY")"
SUMMARY=$(cd "$(dirname "$SUMMARY")" && pwd)/$(basename "$SUMMARY")
LOGS=$(dirname "$SUMMARY")/gpu_check_logs
mkdir -p "$LOGS"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 TRANSFORMERS_OFFLINE=1
export TOKENIZERS_PARALLELISM=false PYTHONPATH="$REPO/src${PYTHONPATH:+:$PYTHONPATH}"
cd "$REPO"
T0=$(date +%s)

DEVICE=$("$PY" -c 'import torch; print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")' 2>/dev/null || true)
MODE=${GPU_CHECK_MODE:-$([ -n "$DEVICE" ] && echo gpu || echo cpu)}
CPUS=$(nproc)
if [ "$MODE" = gpu ]; then
  LIMIT_A=${GPU_CHECK_LIMIT_A:-200}; LIMIT_B=${GPU_CHECK_LIMIT_B:-130}; LIMIT_C=${GPU_CHECK_LIMIT_C:-120}
  THREADS=$(( CPUS < 8 ? CPUS : 8 ))
  ARGS_A=(--preset 1b --precision bf16 --response-words 150 --max-length 512 --batch-size 8 --pairs 128
          --steps 16 --warmup 4 --repeats 2 --threads "$THREADS")
  PRESET_B=1b; ARGS_B=(--prompts 32 --max-new-tokens 64 --batch-sizes 8 32 --repeats 1 --threads "$THREADS")
  CORES_C=$(( CPUS < 8 ? CPUS : 8 ))
else
  LIMIT_A=${GPU_CHECK_LIMIT_A:-240}; LIMIT_B=${GPU_CHECK_LIMIT_B:-180}; LIMIT_C=${GPU_CHECK_LIMIT_C:-600}
  THREADS=$(( CPUS < 2 ? CPUS : 2 ))
  ARGS_A=(--preset tiny --precision fp32 --response-words 20 --max-length 128 --batch-size 4 --pairs 16
          --steps 4 --warmup 1 --repeats 1 --threads "$THREADS")
  PRESET_B=""; ARGS_B=(--prompts 8 --max-new-tokens 16 --batch-sizes 8 --repeats 1 --threads "$THREADS")
  CORES_C=$(( CPUS < 2 ? CPUS : 2 ))
fi

# run_part NAME LIMIT CMD...: runs CMD under LIMIT seconds, its output to $LOGS/NAME.log; sets STATUS_<NAME>
# and SECONDS_<NAME>; never stops the script
run_part() {
  local name=$1 limit=$2; shift 2
  local t0 rc
  t0=$(date +%s)
  echo "gpu_check: part $name (limit ${limit} s): $*" >&2
  set +e
  timeout -k 20 "$limit" "$@" >"$LOGS/$name.log" 2>&1
  rc=$?
  set -e
  printf -v "SECONDS_$name" '%s' "$(( $(date +%s) - t0 ))"
  if [ "$rc" -eq 0 ]; then printf -v "STATUS_$name" '%s' "passed"
  elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then printf -v "STATUS_$name" '%s' "ran out of time (${limit} s)"
  else printf -v "STATUS_$name" '%s' "failed (exit $rc)"
  fi
  echo "gpu_check: part $name: $(eval echo "\$STATUS_$name") in $(eval echo "\$SECONDS_$name") s" >&2
}

# (a) DPO vs BMC step time
run_part a "$LIMIT_A" "$PY" benchmarks/bmc_overhead.py "${ARGS_A[@]}" --json "$LOGS/bmc_overhead.json"

# (b) batched vs one-prompt generation on the same model: the 1.1B model of (a), saved once in bf16 (on the
# CPU: generation_batching.py's own tiny random model)
cat >"$WORK/make_model.py" <<'EOF'
import sys
from pathlib import Path
sys.path.insert(0, "benchmarks")
import torch
from bmc_overhead import PRESETS, make_pairs
from bmc.models.pretrain import ModelShape, build_model
from bmc.models.tokenizer import train_tokenizer
out, name = Path(sys.argv[1]), sys.argv[2]
preset = dict(PRESETS[name]); vocab = preset.pop("vocab")
_, texts = make_pairs(64, 40, 0.1, seed=0)
tok = train_tokenizer(texts, vocab_size=1024)
torch.manual_seed(0)
model = build_model(tok, ModelShape(**preset, max_position_embeddings=512))
if vocab:
    model.resize_token_embeddings(vocab)
model.to(torch.bfloat16).save_pretrained(out)
tok.save_pretrained(out)
print(f"saved {sum(p.numel() for p in model.parameters()) / 1e6:.0f}M parameters, bf16, to {out}")
EOF
{
  echo 'set -euo pipefail'
  if [ -n "$PRESET_B" ]; then
    printf '%q ' "$PY" "$WORK/make_model.py" "$WORK/model-$PRESET_B" "$PRESET_B"; echo
    ARGS_B+=(--model "$WORK/model-$PRESET_B")
  fi
  if [ "$MODE" = gpu ] && "$PY" -c 'import vllm' >/dev/null 2>&1; then ARGS_B+=(--engine vllm); fi
  printf '%q ' "$PY" benchmarks/generation_batching.py "${ARGS_B[@]}"; echo
} >"$WORK/part_b.sh"
run_part b "$LIMIT_B" bash "$WORK/part_b.sh"

# (c) the micro study's chain, SFT and DPO on QA evaluated. models_in_one_job off: the micro config evaluates
# every model of a task in one job, which would pull every method's training into this chain.
MICRO_TARGETS=(results/micro/eval/qa/sft/scores.json results/micro/eval/qa/dpo/scores.json)
run_part c "$LIMIT_C" "$SNAKEMAKE" --snakefile "$REPO/Snakefile" --directory "$WORK/micro" \
  --configfile "$REPO/configs/micro.yaml" --config models_in_one_job=False --cores "$CORES_C" --resources gpu=1 \
  -- "${MICRO_TARGETS[@]}"
if [ -d "$WORK/micro/results/micro/benchmarks" ]; then
  cp -r "$WORK/micro/results/micro/benchmarks" "$LOGS/micro_benchmarks"
fi
for t in "${MICRO_TARGETS[@]}"; do
  if [ -f "$WORK/micro/$t" ]; then mkdir -p "$LOGS/micro_scores/$(dirname "$t")"; cp "$WORK/micro/$t" "$LOGS/micro_scores/$t"; fi
done

# the summary
"$PY" - "$SUMMARY" "$LOGS" "$MODE" "$DEVICE" "$(( $(date +%s) - T0 ))" \
  "$STATUS_a" "$SECONDS_a" "$STATUS_b" "$SECONDS_b" "$STATUS_c" "$SECONDS_c" "${ARGS_A[*]}" "${ARGS_B[*]}" <<'EOF'
import csv, json, platform, re, subprocess, sys
from pathlib import Path
summary, logs, mode, device, total = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
(sa, ta, sb, tb, sc, tc, args_a, args_b) = sys.argv[6:14]


def table(log: Path) -> str:
    """The markdown table a benchmark prints last (lines starting with '|')."""
    if not log.exists():
        return "(no output)"
    lines = log.read_text(errors="replace").splitlines()
    rows = [l for l in lines if l.startswith("|")]
    return "\n".join(rows) if rows else "(no table; last lines of the log:)\n\n```\n" + "\n".join(lines[-15:]) + "\n```"


def caption(log: Path) -> str:
    if not log.exists():
        return ""
    lines = [l for l in log.read_text(errors="replace").splitlines() if l.strip()]
    cap = [l for l in lines if not l.startswith("|") and not l.startswith("  repeat")
           and ("parameters" in l or "prompts, greedy" in l)]
    return cap[-1] if cap else ""


try:
    import torch
    torch_v = torch.__version__ + (f", CUDA {torch.version.cuda}" if torch.version.cuda else "")
except Exception:  # noqa: BLE001
    torch_v = "?"
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
out = [f"# GPU check ({'GPU: ' + device if mode == 'gpu' else 'CPU fallback: toy sizes, no GPU'})", "",
       f"- mode: **{mode}**; device: {device or 'none (CPU)'}; torch {torch_v}; Python {platform.python_version()}; "
       f"commit {commit or '?'}",
       f"- total: {total} s; parts: (a) {sa} in {ta} s, (b) {sb} in {tb} s, (c) {sc} in {tc} s",
       f"- command: `benchmarks/gpu_check.sh`; logs: `{logs}`", ""]
if mode != "gpu":
    out += ["**Not a GPU measurement**: this is the CPU fallback (tiny presets, a few steps), which only shows "
            "that the script runs end to end.", ""]
out += ["## (a) DPO vs DPO-BMC step time (benchmarks/bmc_overhead.py)", "",
        f"Status: {sa} ({ta} s). Arguments: `{args_a}`. {caption(logs / 'a.log')}", "",
        table(logs / "a.log"), "",
        "## (b) Batched vs one-prompt generation (benchmarks/generation_batching.py)", "",
        f"Status: {sb} ({tb} s). Arguments: `{args_b}`. {caption(logs / 'b.log')}", "",
        table(logs / "b.log"), "",
        *(["Exit 1 of generation_batching.py means that some transformers batch size did not reproduce the "
           "one-prompt outputs exactly (see the last column).", ""] if sb == "failed (exit 1)" else []),
        "## (c) The micro study's chain (configs/micro.yaml: SFT and DPO on QA, evaluated)", "",
        f"Status: {sc} ({tc} s, Snakemake in a fresh folder, 12 jobs).", ""]
scores = logs / "micro_scores" / "results" / "micro" / "eval" / "qa"
rows = []
for model in ("sft", "dpo"):
    f = scores / model / "scores.json"
    if f.exists():
        data = json.loads(f.read_text())
        sets = "; ".join(f"{name}: {d.get('accuracy')} ({d.get('n')} items, {d.get('no_answer')} without answer)"
                         for name, d in (data.get("test_sets") or {}).items())
        rows.append(f"| {model} | {data.get('average')} | {sets} |")
if rows:
    out += ["Accuracy on the micro study's QA test sets (toy models: the numbers mean nothing, the chain ran):", "",
            "| model | average | per test set |", "|:--|--:|:--|", *rows, ""]
bench = logs / "micro_benchmarks"
if bench.exists():
    out += ["| job | s | max RSS MB |", "|:--|--:|--:|"]
    for tsv in sorted(bench.rglob("*.tsv")):
        with tsv.open() as fh:
            rec = next(csv.DictReader(fh, delimiter="\t"), None)
        if rec:
            out.append(f"| {tsv.relative_to(bench).with_suffix('')} | {float(rec['s']):.1f} | {rec.get('max_rss', '-')} |")
    out.append("")
elif sc != "passed":
    log = logs / "c.log"
    tail = log.read_text(errors="replace").splitlines()[-20:] if log.exists() else []
    out += ["```", *tail, "```", ""]
summary.write_text("\n".join(out))
print(summary)
EOF
echo "gpu_check: summary $SUMMARY ($(( $(date +%s) - T0 )) s)" >&2
[ "$STATUS_a" = passed ] && [ "$STATUS_b" = passed ] && [ "$STATUS_c" = passed ]

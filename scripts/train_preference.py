"""Rule train_preference: one method of the grid on one task (TRL DPOTrainer extended for DPO-BMC), for each
seed the job trains (params ``seeds``; one output folder per seed, in that order; none given: one run with the
settings' seed).

A Snakemake ``script:``. A job with more than one GPU (resource ``gpu``) turns into ``accelerate launch`` of
this file, one process per GPU, each run as ``python scripts/train_preference.py --job <log>.job.json``
(bmc.training.launch); ``job`` below is then read from that file and has the attributes of ``snakemake``."""
from bmc.runtime import log_to, setup

smk = globals().get("snakemake")  # None: run as a command by accelerate launch
log = log_to(smk.log[0] if smk else None)

from bmc.training.launch import is_main_process, training_job  # noqa: E402

job = training_job(smk, __file__)
setup(job.threads)

from dataclasses import replace  # noqa: E402

from bmc.analysis.heldout import CHOSEN_FIELDS  # noqa: E402
from bmc.data.stopwords import read_stopwords  # noqa: E402
from bmc.io import PAIR_FIELDS, read_jsonl, write_json  # noqa: E402
from bmc.provenance import run_info  # noqa: E402
from bmc.training.checkpoints import Checkpointing  # noqa: E402
from bmc.training.preference import MethodSpec, PreferenceSettings, train_preference  # noqa: E402

method = MethodSpec(**job.params.method)
settings = PreferenceSettings(**job.params.settings)
if "stopwords" in job.input.keys():
    settings.stopwords = read_stopwords(job.input.stopwords)
fields = PAIR_FIELDS | {"bridged_chosen": str, "bridged_rejected": str}
# y_w may be empty in a released bridged set (no gold response matched): the original-pair methods leave those
# pairs out and count them (bmc.training.preference.with_original)
pairs = read_jsonl(job.input.pairs, fields, nonempty=("y_l", "bridged_chosen", "bridged_rejected"))
if not pairs:
    raise SystemExit(f"{job.input.pairs}: no preference pairs to train on (see the stats files beside it)")
heldout = job.input.get("heldout_chosen")  # with kl_every_steps: held-out KL logged during training
heldout_chosen = read_jsonl(heldout, CHOSEN_FIELDS, nonempty=("problem", "y_w")) if heldout else None
seeds = list(job.params.get("seeds") or [settings.seed])
if len(seeds) != len(job.output):
    raise SystemExit(f"{job.rule}: {len(seeds)} seeds {seeds} but {len(job.output)} output folders")
ckpt = Checkpointing.for_job(job)
runs = []
for i, (seed, out) in enumerate(zip(seeds, job.output, strict=True)):
    # the first seed is the main run: only it logs the held-out KL curve (Figure 4 reads the main run)
    run = replace(settings, seed=seed, kl_every_steps=settings.kl_every_steps if i == 0 else 0)
    result = train_preference(job.input.sft, pairs, method, run, out,
                              ckpt.for_seed(seed) if len(seeds) > 1 else ckpt, pairs_path=job.input.pairs,
                              heldout_chosen=heldout_chosen if i == 0 else None)
    if is_main_process():
        write_json(f"{out}/run_info.json", run_info(job.rule, job.params.settings | {"seed": seed}, seed,
                                                    method=job.params.method, result=result))
    log.info("trained %s, seed %d: %s", method.label, seed, {k: v for k, v in result.items() if k != "log_history"})

"""Rule train_sft: TRL SFTTrainer on one task's training split.

A Snakemake ``script:``. A job with more than one GPU (resource ``gpu``) turns into ``accelerate launch`` of
this file, one process per GPU, each run as ``python scripts/train_sft.py --job <log>.job.json``
(bmc.training.launch); ``job`` below is then read from that file and has the attributes of ``snakemake``."""
from bmc.runtime import log_to, setup

smk = globals().get("snakemake")  # None: run as a command by accelerate launch
log = log_to(smk.log[0] if smk else None)

from bmc.training.launch import is_main_process, training_job  # noqa: E402

job = training_job(smk, __file__)
setup(job.threads)

from bmc.io import PROBLEM_FIELDS, read_jsonl, write_json  # noqa: E402
from bmc.provenance import run_info  # noqa: E402
from bmc.training.checkpoints import Checkpointing  # noqa: E402
from bmc.training.sft import SFTSettings, train_sft  # noqa: E402

settings = SFTSettings(**job.params.settings)
rows = read_jsonl(job.input.train, PROBLEM_FIELDS, nonempty=("problem", "solution"))
out = job.output[0]
result = train_sft(job.input.base, rows, job.params.style, settings, out,
                   Checkpointing.for_job(job))
if is_main_process():
    write_json(f"{out}/run_info.json", run_info("train_sft", job.params.settings, settings.seed, result=result))
log.info("SFT done: %s", result)

"""Rule train_sft: TRL SFTTrainer on one task's training split."""
from bmc.runtime import log_to, setup

log = log_to(snakemake.log[0])
setup(snakemake.threads)

from bmc.checkpoints import Checkpointing  # noqa: E402
from bmc.io import PROBLEM_FIELDS, read_jsonl, write_json  # noqa: E402
from bmc.provenance import run_info  # noqa: E402
from bmc.sft import SFTSettings, train_sft  # noqa: E402

settings = SFTSettings(**snakemake.params.settings)
rows = read_jsonl(snakemake.input.train, PROBLEM_FIELDS, nonempty=("problem", "solution"))
out = snakemake.output[0]
result = train_sft(snakemake.input.base, rows, snakemake.params.style, settings, out,
                   Checkpointing.for_job(snakemake))
write_json(f"{out}/run_info.json", run_info("train_sft", snakemake.params.settings, settings.seed, result=result))
log.info("SFT done: %s", result)

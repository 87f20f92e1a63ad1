"""Rule prepare_sft_data: a task's SFT set (the official QA SFT parquet, a MetaMathQA subset) as training records."""
import os

from bmc.runtime import log_to, set_offline_env

log = log_to(snakemake.log[0])
data = snakemake.params.data
if data["download"]:  # the opt-in exception to "no job reaches the network"; a local rule
    os.environ.update({"HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0"})
else:
    set_offline_env()

from bmc.data.training_data import prepare  # noqa: E402
from bmc.io import write_json, write_jsonl  # noqa: E402

records, summary = prepare(data["source"], "sft", "train", data_files=data["data_files"], size=data["size"],
                           seed=data["seed"], check_size=data["check_size"])
write_jsonl(snakemake.output.train, records)
write_json(snakemake.output.summary, summary)
log.info("SFT set: %s", summary)

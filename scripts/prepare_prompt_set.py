"""Rule prepare_prompt_set: the AlpacaEval 2 or Arena-Hard v0.1 prompt file, from its Hugging Face Hub
dataset (or local files in the hub's format), written as the official BMC file is
(bmc.instruction_following.prompt_sets)."""
import os

from bmc.runtime import log_to, set_offline_env

log = log_to(snakemake.log[0])
params = snakemake.params
if params.download:  # the opt-in exception to "no job reaches the network" (instruction_following.download)
    os.environ.update({"HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0"})
else:
    set_offline_env()

from bmc.instruction_following.prompt_sets import get_prompt_set, prepare_prompt_set  # noqa: E402

benchmark, ext = snakemake.wildcards.benchmark, snakemake.wildcards.ext
expected = get_prompt_set(benchmark).official_file.rsplit(".", 1)[1]
if ext != expected:
    raise ValueError(f"the {benchmark} prompt file is .{expected}, not .{ext}")
source = params.source
summary = prepare_prompt_set(benchmark, snakemake.output[0], data_files=source["data_files"],
                             check_size=source["check_size"], hub_config=source.get("hub_file"))
log.info("%s: %d rows from %s -> %d records -> %s", benchmark, summary["rows"], summary["source"],
         summary["records"], summary["path"])

"""Rule prepare_test_set: one of the paper's evaluation test sets, converted from its Hugging Face Hub
dataset (or documented source file) into the official BMC record format (bmc.data.test_sets)."""
import os

from bmc.runtime import log_to, set_offline_env

log = log_to(snakemake.log[0])
params = snakemake.params
if params.download:  # the one opt-in exception to "no job reaches the network" (config paper_data.download)
    os.environ.update({"HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0"})
else:
    set_offline_env()

from bmc.data.test_sets import get_spec, prepare_test_set  # noqa: E402  (datasets reads the env on import)

spec = get_spec(params.name)
if spec.setup != params.setup:
    raise ValueError(f"test set {params.name} belongs to the paper's {spec.setup} setup, but task "
                     f"{snakemake.wildcards.task} stands in for {params.setup}")
log.info("%s: %s (%s)", params.name, params.data_files or spec.describe(),
         "size checked" if params.check_size else "size not checked")
summary = prepare_test_set(params.name, snakemake.output[0], data_files=params.data_files or None,
                           check_size=params.check_size)
log.info("%s: %d rows from %s -> %d records -> %s", params.name, summary["rows"], summary["source"],
         summary["records"], summary["path"])

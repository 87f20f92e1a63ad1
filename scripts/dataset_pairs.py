"""Rules dataset_pairs / dataset_heldout: a task's preference dataset (UltraFeedback binarized) as pairs, its
training split (y_w chosen, y_l rejected) or its held-out split (and the test records heldout_chosen reads)."""
import os

from bmc.runtime import log_to, set_offline_env

log = log_to(snakemake.log[0])
data = snakemake.params.data
if data["download"]:  # the opt-in exception to "no job reaches the network"; a local rule
    os.environ.update({"HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0"})
else:
    set_offline_env()

from bmc.data.training_data import prepare, test_records_from_pairs  # noqa: E402
from bmc.io import write_json, write_jsonl  # noqa: E402

heldout = snakemake.params.split == "heldout"
split = data["heldout_split" if heldout else "train_split"]
pairs, summary = prepare(data["source"], "pairs", split, data_files=data["data_files"],
                         size=data["heldout_size" if heldout else "size"], seed=data["seed"],
                         check_size=data["check_size"])
write_jsonl(snakemake.output.pairs, pairs)
write_json(snakemake.output.stats, summary | {"pairs": len(pairs)})
if heldout:
    write_jsonl(snakemake.output.test, test_records_from_pairs(pairs))
log.info("%s pairs: %s", "held-out" if heldout else "training", summary)

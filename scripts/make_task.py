"""Rule synthetic_task: one task's train/test splits, deterministic from the task's seed."""
from bmc.runtime import log_to

log = log_to(snakemake.log[0])

from bmc.data.synthetic import TaskSizes, generate_task  # noqa: E402
from bmc.io import write_jsonl  # noqa: E402

task = snakemake.params.task
splits = generate_task(task["generator"], TaskSizes(task["train_size"], task["test_size"]), task["seed"],
                       types=task.get("types"), max_operand=task.get("max_operand"),
                       paraphrases=task.get("paraphrases"))
for split in ("train", "test"):
    n = write_jsonl(snakemake.output[split], splits[split])
    log.info("%s: %d records -> %s", split, n, snakemake.output[split])

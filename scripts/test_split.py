"""Rule test_split: a task's prepared test sets as one test file ({problem, solution, answer, type = set name})."""
from bmc.runtime import log_to

log = log_to(snakemake.log[0])

from collections import Counter  # noqa: E402

from bmc.data.test_sets import test_split  # noqa: E402
from bmc.io import write_jsonl  # noqa: E402

records = test_split({name: snakemake.input[name] for name in snakemake.input.keys()})
write_jsonl(snakemake.output[0], records)
log.info("test split: %s", dict(Counter(r["type"] for r in records)))

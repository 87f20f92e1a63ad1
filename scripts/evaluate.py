"""Rule evaluate: greedy zero-shot evaluation of one model on one task's test split."""
from bmc.runtime import log_to, setup

log = log_to(snakemake.log[0])
setup(snakemake.threads)

from bmc.evaluation import evaluate  # noqa: E402
from bmc.generation import TransformersGenerator  # noqa: E402
from bmc.io import PROBLEM_FIELDS, read_jsonl, write_json, write_jsonl  # noqa: E402

ev = snakemake.params.evaluation
rows = read_jsonl(snakemake.input.test, PROBLEM_FIELDS | {"type": str})
generator = TransformersGenerator(snakemake.input.model, batch_size=ev["batch_size"])
predictions, scores = evaluate(generator, rows, snakemake.params.style, snakemake.params.test_sets,
                               ev["max_new_tokens"], preamble=ev["preamble"])
write_jsonl(snakemake.output.predictions, predictions)
write_json(snakemake.output.scores, scores | {"model": snakemake.input.model, "preamble": ev["preamble"]})
log.info("scores: %s", scores)

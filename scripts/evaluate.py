"""Rule evaluate: greedy zero-shot evaluation of one model on one task's test split."""
from bmc.runtime import log_to, setup

log = log_to(snakemake.log[0])
setup(snakemake.threads)

from bmc.evaluation import evaluate  # noqa: E402
from bmc.generation import ResumableGenerator, make_generator  # noqa: E402
from bmc.io import PROBLEM_FIELDS, read_jsonl, write_json, write_jsonl  # noqa: E402

ev = snakemake.params.evaluation
rows = read_jsonl(snakemake.input.test, PROBLEM_FIELDS | {"type": str})
# per-item results kept outside the rule's outputs as they arrive: a crashed evaluation resumes
generator = ResumableGenerator(
    make_generator(ev.get("engine", "auto"), snakemake.input.model, batch_size=ev["batch_size"],
                   tensor_parallel_size=max(1, int(snakemake.resources.get("gpus", 0) or 0))),
    snakemake.params.cache, snakemake.input.model)
predictions, scores = evaluate(generator, rows, snakemake.params.style, snakemake.params.test_sets,
                               ev["max_new_tokens"], preamble=ev["preamble"])
write_jsonl(snakemake.output.predictions, predictions)
write_json(snakemake.output.scores, scores | {"model": snakemake.input.model, "preamble": ev["preamble"]})
generator.finish()
log.info("scores: %s", scores)

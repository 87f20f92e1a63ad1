"""Rules evaluate, evaluate_seeds: greedy zero-shot evaluation of one model, or of each seed of a method (input
``model`` and outputs ``predictions``/``scores`` then list one entry per seed), on one task's test split."""
from bmc.runtime import log_to, setup

log = log_to(snakemake.log[0])
setup(snakemake.threads)

from bmc.evaluation.evaluate import evaluate  # noqa: E402
from bmc.io import PROBLEM_FIELDS, read_jsonl, write_json, write_jsonl  # noqa: E402
from bmc.models.generation import ResumableGenerator, make_generator  # noqa: E402


def as_list(value):
    return [value] if isinstance(value, str) else list(value)


ev = snakemake.params.evaluation
rows = read_jsonl(snakemake.input.test, PROBLEM_FIELDS | {"type": str})
jobs = list(zip(as_list(snakemake.input.model), as_list(snakemake.output.predictions),
                as_list(snakemake.output.scores), as_list(snakemake.params.cache), strict=True))
for model, predictions_out, scores_out, cache in jobs:
    # per-item results kept outside the rule's outputs as they arrive: a crashed evaluation resumes
    generator = ResumableGenerator(
        make_generator(ev.get("engine", "auto"), model, batch_size=ev["batch_size"],
                       tensor_parallel_size=max(1, int(snakemake.resources.get("gpus", 0) or 0))),
        cache, model)
    predictions, scores = evaluate(generator, rows, snakemake.params.style, snakemake.params.test_sets,
                                   ev["max_new_tokens"], preamble=ev["preamble"])
    write_jsonl(predictions_out, predictions)
    write_json(scores_out, scores | {"model": model, "preamble": ev["preamble"]})
    generator.finish()
    log.info("%s: %s", model, scores)

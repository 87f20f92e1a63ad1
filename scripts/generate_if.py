"""Rules generate_alpaca_eval, generate_arena_hard: one model's answers to one instruction-following prompt
set, with the task's chat template and the benchmark's decoding, in the answer format the judge reads."""
from bmc.runtime import log_to, setup

log = log_to(snakemake.log[0])
setup(snakemake.threads)

from transformers import AutoTokenizer  # noqa: E402

from bmc.models.generation import ResumableGenerator, make_generator  # noqa: E402
from bmc.instruction_following.answers import (  # noqa: E402
    IFDecoding,
    generate_answers,
    get_template,
    write_answers,
)
from bmc.instruction_following.prompt_sets import read_prompt_set  # noqa: E402

p = snakemake.params
records = read_prompt_set(p.benchmark, snakemake.input.prompts)
if p.limit:
    records = records[:p.limit]
tokenizer = AutoTokenizer.from_pretrained(snakemake.input.model)
# per-item answers kept outside the rule's outputs as they arrive: a crashed generation resumes
generator = ResumableGenerator(
    make_generator(p.engine, snakemake.input.model, batch_size=p.batch_size,
                   tensor_parallel_size=max(1, int(snakemake.resources.get("gpu", 0) or 0))),
    p.cache, snakemake.input.model)
run = generate_answers(generator, tokenizer, p.benchmark, records, p.model_name, get_template(p.setup["template"]),
                       p.setup["bos"], IFDecoding(**p.decoding))
stats = write_answers(run, snakemake.output.answers, snakemake.output.stats)
generator.finish()
log.info("%s %s: %d answers, %.1f tokens on average, %d empty, %d at the token limit; BOS tokens at the start: %d",
         p.benchmark, p.model_name, stats["n"], stats["avg_tokens"] or 0, stats["empty"],
         stats["reached_max_new_tokens"], stats["bos_tokens_at_start"])

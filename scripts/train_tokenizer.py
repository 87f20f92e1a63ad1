"""Rule train_tokenizer: byte-level BPE on the corpus and the training examples in their prompt formats."""
from bmc.runtime import log_to, set_offline_env

log = log_to(snakemake.log[0])
set_offline_env()

from bmc.io import PROBLEM_FIELDS, read_jsonl  # noqa: E402
from bmc.models.tokenizer import save_tokenizer, train_tokenizer  # noqa: E402
from bmc.templates import eval_prompt, response_prefix  # noqa: E402

texts = [r["text"] for r in read_jsonl(snakemake.input.corpus, {"text": str})]
for path, style in zip(snakemake.input.train, snakemake.params.styles.values(), strict=True):
    texts += [eval_prompt(r["problem"], style) + response_prefix(style) + r["solution"]
              for r in read_jsonl(path, PROBLEM_FIELDS)]
tokenizer = train_tokenizer(texts, snakemake.params.vocab_size)
save_tokenizer(tokenizer, snakemake.output[0])
log.info("vocabulary %d tokens from %d texts -> %s", len(tokenizer), len(texts), snakemake.output[0])

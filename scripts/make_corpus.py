"""Rule pretraining_corpus: plain-text pretraining documents (JSONL, field "text"), never a train or test
problem."""
from bmc.runtime import log_to

log = log_to(snakemake.log[0])

from bmc.data.synthetic import pretraining_corpus  # noqa: E402
from bmc.io import PROBLEM_FIELDS, read_jsonl, write_jsonl  # noqa: E402
from bmc.templates import ALPACA_PREAMBLE  # noqa: E402

exclude = {r["problem"] for path in snakemake.input for r in read_jsonl(path, PROBLEM_FIELDS)}
c = snakemake.params.corpus
lines = pretraining_corpus(snakemake.params.seed, c["lines"], exclude, preamble_fraction=c["preamble_fraction"],
                           preamble=ALPACA_PREAMBLE)
write_jsonl(snakemake.output[0], ({"text": line} for line in lines))
log.info("%d documents -> %s", len(lines), snakemake.output[0])

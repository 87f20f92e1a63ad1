"""Rule pretrain_base: a tiny Llama pretrained from scratch on the corpus."""
from bmc.runtime import log_to, setup

log = log_to(snakemake.log[0])
setup(snakemake.threads)

from transformers import AutoTokenizer  # noqa: E402

from bmc.io import read_jsonl, write_json  # noqa: E402
from bmc.models.pretrain import ModelShape, PretrainSettings, pretrain  # noqa: E402
from bmc.provenance import run_info  # noqa: E402
from bmc.training.checkpoints import Checkpointing  # noqa: E402

settings = PretrainSettings(**snakemake.params.settings)
tokenizer = AutoTokenizer.from_pretrained(snakemake.input.tokenizer)
lines = [r["text"] for r in read_jsonl(snakemake.input.corpus, {"text": str})]
out = snakemake.output[0]
result = pretrain(lines, tokenizer, ModelShape(**snakemake.params.shape), settings, out,
                  Checkpointing.for_job(snakemake))
write_json(f"{out}/run_info.json", run_info("pretrain_base", snakemake.params.settings, settings.seed,
                                            shape=snakemake.params.shape, result=result))
log.info("pretrained: %s", result)

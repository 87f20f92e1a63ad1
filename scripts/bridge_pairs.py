"""Rule bridge_pairs: one bridged set of one task (editor, direction, fraction, filters, stats)."""
from bmc.runtime import log_to, set_offline_env

log = log_to(snakemake.log[0])
set_offline_env()

from transformers import AutoTokenizer  # noqa: E402

from bmc.bridging.bridge import BridgeSettings, bridge  # noqa: E402
from bmc.bridging.editors import EditorError  # noqa: E402
from bmc.bridging.editors.registry import make_editor  # noqa: E402
from bmc.io import PAIR_FIELDS, read_jsonl, write_json, write_jsonl  # noqa: E402
from bmc.provenance import run_info  # noqa: E402

p = snakemake.params
pairs = read_jsonl(snakemake.input.pairs, PAIR_FIELDS, nonempty=("y_w", "y_l"))
template = snakemake.input.get("template")
editor = make_editor(p.editor, template_path=template, decoding=p.decoding, cache_path=p.cache)
tokenizer = AutoTokenizer.from_pretrained(snakemake.input.tokenizer)
try:
    rows, stats = bridge(pairs, editor, tokenizer, BridgeSettings(**p.settings), style=p.style,
                         template_sha256=getattr(getattr(editor, "template", None), "sha256", None),
                         decoding=p.decoding if template else None)
except EditorError as e:  # a clear message, no traceback; finished responses are in the cache
    log.error("bridging failed: %s", e)
    raise SystemExit(f"bridging failed: {e}") from None
write_jsonl(snakemake.output.pairs, rows)
write_json(snakemake.output.stats, stats | {"cache": p.cache if template else None,
                                            "provenance": run_info("bridge_pairs", p.settings, editor=p.editor)})
log.info("bridged: %s", {k: v for k, v in stats.items() if k != "settings"})

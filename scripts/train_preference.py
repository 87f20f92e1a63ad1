"""Rule train_preference: one method of the grid on one task (TRL DPOTrainer extended for DPO-BMC)."""
from bmc.runtime import log_to, setup

log = log_to(snakemake.log[0])
setup(snakemake.threads)

from bmc.checkpoints import Checkpointing  # noqa: E402
from bmc.heldout import CHOSEN_FIELDS  # noqa: E402
from bmc.io import PAIR_FIELDS, read_jsonl, write_json  # noqa: E402
from bmc.preference import MethodSpec, PreferenceSettings, train_preference  # noqa: E402
from bmc.provenance import run_info  # noqa: E402
from bmc.stopwords import read_stopwords  # noqa: E402

method = MethodSpec(**snakemake.params.method)
settings = PreferenceSettings(**snakemake.params.settings)
if "stopwords" in snakemake.input.keys():
    settings.stopwords = read_stopwords(snakemake.input.stopwords)
fields = PAIR_FIELDS | {"bridged_chosen": str, "bridged_rejected": str}
pairs = read_jsonl(snakemake.input.pairs, fields, nonempty=("y_w", "y_l", "bridged_chosen", "bridged_rejected"))
if not pairs:
    raise SystemExit(f"{snakemake.input.pairs}: no preference pairs to train on (see the stats files beside it)")
heldout = snakemake.input.get("heldout_chosen")  # with kl_every_steps: held-out KL logged during training
heldout_chosen = read_jsonl(heldout, CHOSEN_FIELDS, nonempty=("problem", "y_w")) if heldout else None
out = snakemake.output[0]
result = train_preference(snakemake.input.sft, pairs, method, settings, out,
                          Checkpointing.for_job(snakemake), pairs_path=snakemake.input.pairs,
                          heldout_chosen=heldout_chosen)
write_json(f"{out}/run_info.json", run_info("train_preference", snakemake.params.settings, settings.seed,
                                            method=snakemake.params.method, result=result))
log.info("trained %s: %s", method.label, {k: v for k, v in result.items() if k != "log_history"})

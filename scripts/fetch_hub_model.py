"""Rules fetch_base_model / fetch_sft_model: a Hugging Face Hub model as a model directory (bmc.models.hub_models)."""
import os

from bmc.runtime import log_to, set_offline_env

log = log_to(snakemake.log[0])
model = snakemake.params.model
if model.get("download"):  # the opt-in exception to "no job reaches the network"; a local rule
    os.environ.update({"HF_HUB_OFFLINE": "0"})
else:
    set_offline_env()

from bmc.models.hub_models import fetch_model  # noqa: E402
from bmc.templates import CHAT_TEMPLATE  # noqa: E402

template = CHAT_TEMPLATE if snakemake.params.chat_template == "paper" else None
source = fetch_model(model["hub"], snakemake.output[0], revision=model.get("revision"),
                     download=bool(model.get("download")), chat_template=template)
log.info("%s@%s -> %s (commit %s; %d files linked; tokenizer: %s)", source["repo_id"], source["revision"] or "main",
         snakemake.output[0], source["commit"], len(source["linked_files"]), source["tokenizer"])

"""Rule study_config: the run's resolved config (after overrides and defaults) with package versions."""
from bmc.runtime import log_to

log = log_to(snakemake.log[0])

import yaml  # noqa: E402

from bmc.io import write_text  # noqa: E402
from bmc.provenance import run_info  # noqa: E402

info = run_info("study_config", {}, snakemake.params.config.get("seed"))
software = {k: info[k] for k in ("git_commit", "python", "packages", "created")}
text = "# The resolved study config of this run (after overrides), and the software that ran it (rule study_config)\n"
text += yaml.safe_dump({"config": snakemake.params.config, "software": software}, sort_keys=False, width=110)
write_text(snakemake.output[0], text)

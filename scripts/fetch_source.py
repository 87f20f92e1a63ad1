"""Rule fetch_source: a file outside the hub from its pinned URL (bmc.data.sources); a local rule, it alone reaches
the network."""
from bmc.runtime import log_to

log = log_to(snakemake.log[0])

from bmc.data.sources import fetch  # noqa: E402

digest = fetch(snakemake.params.url, snakemake.output[0], snakemake.params.sha256)
log.info("%s -> %s (sha256 %s%s)", snakemake.params.url, snakemake.output[0], digest,
         ", as pinned" if snakemake.params.sha256 else "; not pinned: copy it into the config's sources")

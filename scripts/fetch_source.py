"""Rule fetch_source: a file outside the hub from its pinned URL (bmc.data.sources); a local rule, it alone reaches
the network."""
from bmc.runtime import log_to

log = log_to(snakemake.log[0])

from bmc.data.sources import fetch  # noqa: E402

p = snakemake.params
digest = fetch(p.url, snakemake.output[0], p.sha256, git_blob=p.git_blob)
pinned = ", as pinned" if p.sha256 else "; not pinned by sha256: copy it into the config's sources"
log.info("%s -> %s (sha256 %s%s%s)", p.url, snakemake.output[0], digest, pinned,
         f"; git object {p.git_blob}, as pinned" if p.git_blob else "")

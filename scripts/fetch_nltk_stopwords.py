"""Rule nltk_stopwords: NLTK's English stopword list, downloaded with NLTK's downloader."""
from bmc.runtime import log_to

log = log_to(snakemake.log[0])

from bmc.data.stopwords import fetch_nltk_stopwords  # noqa: E402

words = fetch_nltk_stopwords(snakemake.output[0], snakemake.params.index_url)
log.info("%d stopwords -> %s", len(words), snakemake.output[0])

# Resources fetched once and shared by every study: NLTK's English stopword list (network access needed;
# a local rule, so that on a cluster it runs where the network is, not on a compute node).


localrules:
    nltk_stopwords,


rule nltk_stopwords:
    output:
        "resources/nltk/stopwords_english.txt",
    log:
        "resources/nltk/stopwords_english.log",
    params:
        index_url=config.get("nltk", {}).get("index_url"),
    resources:
        **rule_resources("nltk_stopwords"),
    conda:
        "../envs/tables.yaml"
    script:
        "../scripts/fetch_nltk_stopwords.py"

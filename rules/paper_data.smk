# The paper's evaluation test sets (the columns of Table 1), converted from their Hugging Face Hub datasets
# (or documented source files) into the record format the official BMC evaluation code reads; sets,
# hub ids, splits and sizes are in bmc.data.test_sets.TEST_SETS. Optional config (absent: every set comes
# from the hub through the Hugging Face cache, size checked, no network):
#
#   paper_data:
#     download: false              # true: this rule alone may fetch from the hub (other jobs stay offline)
#     sets:
#       tabmwp: {data_files: path/to/problems_test.json}       # MAWPS and TabMWP have no hub id
#       mawps: {data_files: path/to/mawps/test.jsonl}
#       ecqa: {data_files: [path/to/test.parquet], check_size: false}   # local hub-format files, a subset
#       math_full: {data_files: {algebra: path/to/algebra/test.parquet, ...}}   # per-config files
from bmc.data.test_sets import TEST_SETS


localrules:  # with paper_data.download it fetches from the hub: on the host, where the network is
    prepare_test_set,

rule prepare_test_set:
    input:
        paper_data_files,
    output:
        f"{RESULTS}/data/{{task}}/test/{{name}}.jsonl",
    log:
        logfile("prepare_test_set", "{task}/{name}"),
    benchmark:
        benchfile("prepare_test_set", "{task}/{name}")
    wildcard_constraints:
        name="|".join(TEST_SETS),
    params:
        name=lambda wc: wc.name,
        setup=lambda wc: config["tasks"][wc.task]["paper_setup"],
        data_files=lambda wc: paper_data_set(wc.name).get("data_files"),
        check_size=lambda wc: paper_data_set(wc.name).get("check_size", True),
        download=lambda wc: bool((config.get("paper_data") or {}).get("download", False)),
    resources:
        **rule_resources("prepare_test_set"),
    conda:
        "../envs/tables.yaml"
    script:
        "../scripts/prepare_test_set.py"


# Tasks with an SFT dataset (tasks.<t>.sft_data): their training split from the paper's SFT set, their test split
# from their test sets (test_sets: Table 1 column -> [test set names]), in the records the later stages read.
localrules:
    prepare_sft_data,
    fetch_source,


rule prepare_sft_data:
    input:
        sft_data_files,
    output:
        train=f"{RESULTS}/data/{{task}}/train.jsonl",
        summary=f"{RESULTS}/data/{{task}}/train_source.json",
    log:
        logfile("prepare_sft_data"),
    wildcard_constraints:
        task=one_of(DATA_TASKS),
    params:
        data=lambda wc: sft_data_settings(config, wc.task),
    resources:
        **rule_resources("prepare_sft_data"),
    conda:
        "../envs/tables.yaml"
    script:
        "../scripts/prepare_sft_data.py"

rule test_split:
    input:
        unpack(test_set_files),
    output:
        f"{RESULTS}/data/{{task}}/test.jsonl",
    log:
        logfile("test_split"),
    wildcard_constraints:
        task=one_of(DATA_TASKS),
    resources:
        **rule_resources("test_split"),
    conda:
        "../envs/evaluation.yaml"
    script:
        "../scripts/test_split.py"


# Files outside the hub (config `sources`: name -> pinned url and sha256), e.g. the official QA SFT parquet.
SOURCES = config.get("sources") or {}


rule fetch_source:
    output:
        "resources/sources/{source}/{file}",
    log:
        "resources/sources/{source}/{file}.log",
    wildcard_constraints:
        source=one_of(list(SOURCES)),
        file=r"[^/]+(?<!\.sha256)(?<!\.log)",
    params:
        url=lambda wc: SOURCES[wc.source]["url"],
        sha256=lambda wc: SOURCES[wc.source].get("sha256"),
        git_blob=lambda wc: SOURCES[wc.source].get("git_blob"),
    resources:
        **rule_resources("fetch_source"),
    conda:
        "../envs/tables.yaml"
    script:
        "../scripts/fetch_source.py"

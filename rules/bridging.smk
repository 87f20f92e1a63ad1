# Bridging: an editor rewrites one response of each pair (by default y_l into a pseudo-winning response,
# using y_w). One bridged set per name: "main" (the bridging block) and each of bridging.ablations. A task with
# released_pairs takes its main set from the authors' released files instead (rule released_pairs).


ruleorder: released_pairs > bridge_pairs


rule released_pairs:
    input:
        unpack(released_pair_inputs),
    output:
        pairs=f"{RESULTS}/pairs/{{task}}/bridged/main.jsonl",
        stats=f"{RESULTS}/pairs/{{task}}/bridged/main_stats.json",
    log:
        logfile("released_pairs"),
    benchmark:
        benchfile("released_pairs")
    wildcard_constraints:
        task=one_of(RELEASED_TASKS),
    params:
        data=lambda wc: released_pairs_settings(config, wc.task),
        reference_kind=lambda wc: "pairs" if wc.task in PAIR_TASKS else "sft",
        style=lambda wc: config["tasks"][wc.task]["prompt_style"],
    resources:
        **rule_resources("released_pairs"),
    conda:
        "../envs/inference.yaml"  # transformers' tokenizer for the edit distances, as bridge_pairs
    script:
        "../scripts/released_pairs.py"


rule bridge_pairs:
    input:
        unpack(bridge_inputs),
    output:
        pairs=f"{RESULTS}/pairs/{{task}}/bridged/{{bset}}.jsonl",
        stats=f"{RESULTS}/pairs/{{task}}/bridged/{{bset}}_stats.json",
    log:
        logfile("bridge_pairs", "{task}/{bset}"),
    benchmark:
        benchfile("bridge_pairs", "{task}/{bset}")
    params:
        settings=lambda wc: asdict(bridge_settings(config, wc.bset)),
        editor=lambda wc: {k: v for k, v in editor_spec(config, wc.bset).items() if k not in (PRICE_KEY, "label")},
        decoding=lambda wc: bridged_set(config, wc.bset)["decoding"],
        style=lambda wc: answer_style(config, wc.task),  # None: open-ended pairs, no answer check
        cache=lambda wc: editor_cache_path(wc.bset),
    resources:
        **bridge_resources(),
    conda:
        "../envs/inference.yaml"
    script:
        "../scripts/bridge_pairs.py"

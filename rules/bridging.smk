# Bridging: an editor minimally corrects y_l using y_w, giving the pseudo-winning response.


rule bridge_pairs:
    input:
        pairs=rules.sample_losing.output.pairs,
        tokenizer=f"{RESULTS}/models/sft/{{task}}",
    output:
        pairs=f"{RESULTS}/pairs/{{task}}/bridged.jsonl",
        stats=f"{RESULTS}/pairs/{{task}}/bridged_stats.json",
    log:
        logfile("bridge_pairs"),
    benchmark:
        benchfile("bridge_pairs")
    params:
        bridging=config["bridging"],
    script:
        "../scripts/bridge_pairs.py"

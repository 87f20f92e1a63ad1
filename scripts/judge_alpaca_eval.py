"""Rule judge_alpaca_eval: AlpacaEval 2 (alpaca_eval, length-controlled win rate) of one model's outputs.
Needs the network and the API key; checks both before any work
(bmc.instruction_following.judges)."""
import os

from bmc.runtime import log_to

log = log_to(snakemake.log[0])
# a network rule: the judge endpoint, and the hub for the length-controlled GLM's df_gamed.csv
os.environ.update({"HF_HUB_OFFLINE": "0", "HF_DATASETS_OFFLINE": "0"})

from bmc.instruction_following.alpaca_eval import AlpacaEvalJudge, run_alpaca_eval  # noqa: E402
from bmc.instruction_following.judges import JudgeEndpoint, preflight  # noqa: E402
from bmc.io import write_json  # noqa: E402

j = snakemake.params.judge
endpoint = JudgeEndpoint(base_url=j["base_url"], api_key_env=j["api_key_env"])
preflight(endpoint, "AlpacaEval judge")
result = run_alpaca_eval(snakemake.input.answers, snakemake.input.reference, snakemake.params.cache, endpoint,
                         AlpacaEvalJudge(annotator=j["alpaca_eval"]["annotator"], model=j["model"],
                                         concurrency=j["alpaca_eval"]["concurrency"]))
write_json(snakemake.output[0], result)
log.info("AlpacaEval 2 %s: LC %s, WR %s", result["model"], result.get("length_controlled_winrate"),
         result.get("win_rate"))

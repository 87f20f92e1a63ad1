"""Rule judge_arena_hard: Arena-Hard v0.1 (arena-hard-auto at a pinned commit, win rate against the baseline)
of one model's answers. Needs the network and the API key; checks both before any work
(bmc.instruction_following.judges)."""
from bmc.runtime import log_to

log = log_to(snakemake.log[0])

from bmc.instruction_following.arena_hard import ArenaHardJudge, run_arena_hard  # noqa: E402
from bmc.instruction_following.judges import JudgeEndpoint, preflight  # noqa: E402
from bmc.io import write_json  # noqa: E402

j = snakemake.params.judge
endpoint = JudgeEndpoint(base_url=j["base_url"], api_key_env=j["api_key_env"])
preflight(endpoint, "Arena-Hard judge")
ah = j["arena_hard"]
result = run_arena_hard(snakemake.params.cache, snakemake.input.questions, snakemake.input.answers,
                        snakemake.params.workdir, endpoint,
                        ArenaHardJudge(judge_model=j["model"], baseline=ah["baseline"], parallel=ah["parallel"],
                                       repo=ah["repo"], commit=ah["commit"]),
                        log_path=snakemake.log[0])
write_json(snakemake.output[0], result)
log.info("Arena-Hard %s: WR %s (95%% CI %s, %s)", result["model"], result["win_rate"], result["ci_lower"],
         result["ci_upper"])

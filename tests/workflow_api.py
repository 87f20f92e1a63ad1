"""Drive the workflow through Snakemake's Python API (pinned snakemake; the plan is read from its DAG)."""

from __future__ import annotations

from pathlib import Path

from snakemake.api import SnakemakeApi
from snakemake.settings.types import (
    ConfigSettings,
    DAGSettings,
    ExecutionSettings,
    OutputSettings,
    Quietness,
    ResourceSettings,
)

REPO = Path(__file__).resolve().parents[1]


def _workflow(api, workdir, configfiles, config, cores=1):
    return api.workflow(
        resource_settings=ResourceSettings(cores=cores),
        config_settings=ConfigSettings(configfiles=[Path(c) for c in configfiles], config=config or {}),
        snakefile=REPO / "Snakefile",
        workdir=Path(workdir),
    )


def plan(workdir, configfiles=(), config=None, targets=("all",)) -> dict[str, str]:
    """{output file: rule} of every job that would run for ``targets``."""
    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        dag_api = _workflow(api, workdir, configfiles, config).dag(dag_settings=DAGSettings(targets=set(targets)))
        w = dag_api.workflow_api._workflow
        w._prepare_dag(forceall=False, ignore_incomplete=False, lock_warn_only=True)
        w._build_dag()
        return {str(f): job.rule.name for job in w.dag.needrun_jobs() for f in job.output}


def rule_names(workdir, configfiles=()) -> set[str]:
    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        dag_api = _workflow(api, workdir, configfiles, None).dag()
        return {r.name for r in dag_api.workflow_api._workflow.rules}


def run(workdir, configfiles=(), config=None, targets=("all",), cores=2) -> None:
    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        dag_api = _workflow(api, workdir, configfiles, config, cores).dag(dag_settings=DAGSettings(targets=set(targets)))
        dag_api.execute_workflow(executor="local", execution_settings=ExecutionSettings())


def plan_jobs(workdir, configfiles=(), config=None, targets=("all",)) -> list[dict]:
    """Every job that would run for ``targets``: rule, outputs, resources as submitted, and whether its rule is a
    local rule (``localrules:``: with a cluster executor it runs on the host, not as a cluster job)."""
    with SnakemakeApi(OutputSettings(quiet={Quietness.ALL})) as api:
        dag_api = _workflow(api, workdir, configfiles, config).dag(dag_settings=DAGSettings(targets=set(targets)))
        w = dag_api.workflow_api._workflow
        w._prepare_dag(forceall=False, ignore_incomplete=False, lock_warn_only=True)
        w._build_dag()
        return [{"rule": job.rule.name, "input": [str(f) for f in job.input], "output": [str(f) for f in job.output],
                 "resources": {k: v for k, v in job.resources.items() if not k.startswith("_")},
                 "local": job.rule.name in w._localrules} for job in w.dag.needrun_jobs()]

"""Which of the study's models stands for which row of each of the paper's tables (Tables 1-5 and 9), and the
cells of those rows from this run's score and reward files.

The rows are decided from the study config (:func:`table_rows`), so the same code serves the tiny study and the
paper study; the cells are compared with the paper's values and rendered by :mod:`bmc.report.paper_tables`.
"""

from __future__ import annotations

import statistics

from bmc.report.paper_tables import Cell, TABLES, load_paper


# ------------------------------------------------------------------------------ which model is which row
def _bmc_like(m: dict) -> bool:
    """DPO-BMC proper: the sigmoid (DPO) loss with BMC weights on bridged pairs."""
    return m.get("loss", "sigmoid") == "sigmoid" and m.get("bmc_weights") and m["pairs"] == "bridged"


def _bridged_set(config: dict, m: dict) -> dict:
    from bmc.config import bridged_set

    return bridged_set(config, m.get("bridged_set", "main") if m["pairs"] == "bridged" else "main")


def _on_main_set(m: dict) -> bool:
    return m["pairs"] == "original" or m.get("bridged_set", "main") == "main"


def table_rows(config: dict, table: str) -> dict[str, str]:
    """{model name in the study: row label of the paper table}. ``sft`` is the SFT model."""
    methods = config["methods"]
    if table in ("table1", "table2"):
        rows = {"sft": "SFT"}
        rows |= {name: m["label"] for name, m in methods.items() if _on_main_set(m)}
        return rows
    if table == "table3":
        rows = {}
        for name, m in methods.items():
            if _bmc_like(m):
                s = _bridged_set(config, m)
                label = s["direction"]  # Table 3's rows are the config's direction names
                if s["editor"] == config["bridging"]["editor"] and label not in rows.values():
                    rows[name] = label
        return rows
    if table == "table4":  # β·log(π_θ/π_ref) is the implicit reward of the DPO loss: its family only
        return {name: m["label"] for name, m in methods.items()
                if _on_main_set(m) and m.get("loss", "sigmoid") == "sigmoid"}
    if table == "table5":
        paper_rows = set(load_paper("table5")["row"])
        rows = {"sft": "SFT"}
        rows |= {name: m["label"] for name, m in methods.items()
                 if _on_main_set(m) and (m["label"] in paper_rows or m.get("loss", "sigmoid") != "sigmoid")}
        return rows
    if table == "table9":
        rows = {"sft": "SFT"}
        rows |= {name: m["label"] for name, m in methods.items()
                 if m["label"] == "DPO" and m["pairs"] == "original" and not m.get("bmc_weights")}
        main_direction = config["bridging"]["direction"]
        for name, m in methods.items():
            if _bmc_like(m):
                s = _bridged_set(config, m)
                if s["direction"] == main_direction:
                    spec = config["editors"][s["editor"]]
                    label = f"DPO-BMC ({spec.get('label') or spec.get('model') or s['editor']})"
                    if label not in rows.values():
                        rows[name] = label
        return rows
    raise KeyError(f"unknown paper table {table!r} (have {sorted(TABLES)})")


def dpo_reference(config: dict) -> str | None:
    """The study's plain DPO method (sigmoid loss, original pairs, no BMC weights): the reference of Table 1's
    paired differences. None when the study has none."""
    for name, m in config["methods"].items():
        if m.get("loss", "sigmoid") == "sigmoid" and m["pairs"] == "original" and not m.get("bmc_weights"):
            return name
    return None


def setup_name(config: dict, task: str) -> str:
    """The paper setup a task stands for; the task's label where two tasks stand for the same setup."""
    tasks = config["tasks"]
    setup = tasks[task]["paper_setup"]
    if setup == "IF":  # the paper names its instruction-following setups by model: "IF Llama3-8B"
        return f"IF {tasks[task]['label']}"
    if sum(1 for t in tasks.values() if t["paper_setup"] == setup) > 1:
        return f"{setup} ({tasks[task]['label']})"
    return setup


# ------------------------------------------------------------------------------- cells from this run's files
def accuracy_cells(summaries: dict[tuple[str, str], tuple[dict, str] | list[tuple[dict, str]]], rows: dict[str, str],
                   setups: dict[str, str], per_test_set: bool,
                   seeds_rule: str = "rules evaluate, evaluate_seed", single_rule: str = "rule evaluate") -> list[Cell]:
    """Cells from evaluation summaries ``{(task, model): (scores.json content, its path)}``, or a list of them, one
    per seed: then each cell is the mean over the seeds, with their sample standard deviation. The setup average
    always, each test set's accuracy too when ``per_test_set``. ``seeds_rule`` names the rule(s) that made the
    score files of a model with several seeds, ``single_rule`` the rule of a model with one (the SFT model)."""
    cells = []
    for (task, model), runs in summaries.items():
        if model not in rows:
            continue
        runs = [runs] if isinstance(runs, tuple) else list(runs)
        paths = [path for _, path in runs]
        source = (f"{single_rule}: {paths[0]}" if len(runs) == 1 else
                  f"{seeds_rule} ({len(runs)} seeds): " + "; ".join(paths))

        def cell(column, values):
            std = statistics.stdev(values) if len(values) > 1 else None
            return Cell(rows[model], setups[task], column, statistics.fmean(values), source, std, len(values))

        if per_test_set:
            for name in runs[0][0]["test_sets"]:
                cells.append(cell(name, [s["test_sets"][name]["accuracy"] for s, _ in runs]))
        cells.append(cell("Avg", [s["average"] for s, _ in runs]))
    return cells


def reward_cells(summaries: dict[tuple[str, str], tuple[dict, str]], rows: dict[str, str],
                 setups: dict[str, str]) -> list[Cell]:
    """Table 4 cells from reward summaries (:func:`bmc.analysis.rewards.reward_summary` files): the mean reward margin
    and the reward accuracy in % (the paper's columns, ``paper_results.csv``)."""
    cells = []
    for (task, model), (summary, path) in summaries.items():
        if model not in rows:
            continue
        source = f"rule reward_analysis: {path}"
        cells.append(Cell(rows[model], setups[task], "reward margin", summary["margin_mean"], source))
        cells.append(Cell(rows[model], setups[task], "reward accuracy", 100 * summary["accuracy"], source))
    return cells

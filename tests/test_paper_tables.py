"""Paper tables: every cell beside the paper's number, missing cells left missing, rows chosen from the config."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from bmc.report.paper_tables import Cell, compare, load_paper, to_latex, to_markdown, wide
from bmc.report.rows import accuracy_cells, table_rows


def test_paper_numbers_are_the_papers():
    paper = load_paper()
    cell = paper.set_index(["table", "row", "setup", "column"])["value"]
    assert cell["table1", "DPO-BMC", "QA", "Avg"] == 65.1 and cell["table1", "SFT", "Math", "MATH"] == 11.6
    assert cell["table2", "DPO-BMC", "IF Llama3-8B", "AE2 LC"] == 22.4 and cell["table2", "SimPO", "IF Mistral-7B", "AE2 Len"] == 1906
    assert cell["table3", "degrade_winning_without_reference", "Math", "Avg"] == 48.6
    assert cell["table4", "DPO-BMC", "IF Llama3-8B", "reward accuracy"] == 73.6
    assert cell["table5", "R-DPO-BMC", "QA", "Avg"] == 65.3
    assert cell["table9", "DPO-BMC (Llama3-70B-Instruct)", "IF Llama3-8B", "AE2 LC"] == 21.8
    sizes = paper.groupby("table").size().to_dict()
    assert sizes == {"table1": 120, "table2": 120, "table3": 12, "table4": 4, "table5": 33, "table9": 12}
    assert paper["value"].notna().all()


def test_compare_puts_ours_beside_the_paper_and_never_fills():
    cells = [Cell("SFT", "QA", "World", 40.0, "rule evaluate: a"), Cell("SFT", "QA", "Avg", 45.0, "rule evaluate: a"),
             Cell("DPO", "QA", "Avg", 46.5, "rule evaluate: b"), Cell("Mine", "QA", "Avg", 1.0, "rule evaluate: c")]
    frame = compare("table1", cells)
    row = frame.set_index(["row", "setup", "column"])
    assert row.loc[("DPO", "QA", "Avg"), "paper"] == 61.3
    assert row.loc[("DPO", "QA", "Avg"), "diff"] == pytest.approx(46.5 - 61.3)
    assert row.loc[("DPO", "QA", "Avg"), "source"] == "rule evaluate: b"
    assert math.isnan(row.loc[("SFT", "QA", "World"), "paper"])      # ours only
    assert math.isnan(row.loc[("DPO", "QA", "ECQA"), "ours"])         # paper only
    assert math.isnan(row.loc[("DPO", "Math", "Avg"), "ours"])
    assert math.isnan(row.loc[("Mine", "QA", "Avg"), "paper"])
    rows = list(dict.fromkeys(frame["row"]))
    assert rows[:3] == ["SFT", "FIGA", "IPO"] and rows[-1] == "Mine"   # paper order, then this run's others
    qa_cols = list(dict.fromkeys(frame.loc[frame["setup"] == "QA", "column"]))
    assert qa_cols[0] == "World" and qa_cols[-1] == "Avg"
    w = wide(frame, "ours")
    assert w.loc["SFT", ("QA", "Avg")] == 45.0 and math.isnan(w.loc["FIGA", ("QA", "Avg")])


def test_two_values_for_one_cell_fail_naming_both_sources():
    cells = [Cell("DPO", "QA", "Avg", 1.0, "file a"), Cell("DPO", "QA", "Avg", 2.0, "file b")]
    with pytest.raises(ValueError, match="file a and file b"):
        compare("table1", cells)


def test_markdown_and_latex_show_missing_as_missing(tmp_path):
    cells = [Cell("DPO", "QA", "Avg", 46.54, "rule evaluate: results/x/eval/qa/dpo/scores.json")]
    frame = compare("table5", cells)
    md = to_markdown("table5", frame, "tiny", ["a note"])
    assert "## This run (tiny study)" in md and "| DPO | 46.5 |" in md.replace("  ", " ")
    ours_block = md.split("## Paper")[0]
    assert "| IPO |" not in ours_block and "| IPO | 60.6 |" in md  # no row for a method the study did not train;
    assert "StrategyQA" not in ours_block                          # the paper's rows and columns in its own block
    assert "Avg | – |" not in ours_block
    assert "-14.8" in md                            # 46.54 - 61.3
    assert "- DPO, QA: rule evaluate: results/x/eval/qa/dpo/scores.json" in md and "- a note" in md
    assert "likely a copy of SFT StrategyQA" in md  # the paper's own caveat travels with its number
    tex = to_latex("table5", frame, "tiny")
    assert r"\begin{tabular}" in tex and "46.5 (61.3)" in tex and "IPO" not in tex
    assert tex.count(r"\\") == 2 + 1  # the two header lines and this run's one row


def test_reward_and_length_columns_keep_their_precision():
    frame = compare("table4", [Cell("DPO", "IF Llama3-8B", "reward margin", 0.123, "x")])
    assert "0.12" in to_markdown("table4", frame, "s")
    frame = compare("table2", [Cell("DPO", "IF Llama3-8B", "AE2 Len", 1713.4, "x")])
    assert "| DPO | 16.0 |" not in to_markdown("table2", frame, "s")
    assert "1713" in to_markdown("table2", frame, "s")


CONFIG = {
    "bridging": {"editor": "rule", "direction": "edit_losing_with_reference", "fraction": 1.0, "seed": 0,
                 "ablations": {"degrade": {"direction": "degrade_winning_with_reference"},
                               "llm": {"editor": "gpt4"}}},
    "editors": {"rule": {"kind": "rule"}, "gpt4": {"kind": "openai", "model": "gpt-4-0125-preview"}},
    "methods": {
        "dpo": {"label": "DPO", "pairs": "original", "bmc_weights": False},
        "dpo_bmc": {"label": "DPO-BMC", "pairs": "bridged", "bmc_weights": True},
        "dpo_bmc_degrade": {"label": "DPO-BMC (deg)", "pairs": "bridged", "bridged_set": "degrade", "bmc_weights": True},
        "dpo_bmc_gpt4": {"label": "DPO-BMC (gpt4)", "pairs": "bridged", "bridged_set": "llm", "bmc_weights": True},
        "ipo_bmc": {"label": "IPO-BMC", "loss": "ipo", "pairs": "bridged", "bmc_weights": True},
    },
    "tasks": {"qa": {"paper_setup": "QA", "label": "QA"}},
}


def test_rows_of_each_table_come_from_the_config():
    assert table_rows(CONFIG, "table1") == {"sft": "SFT", "dpo": "DPO", "dpo_bmc": "DPO-BMC", "ipo_bmc": "IPO-BMC"}
    assert table_rows(CONFIG, "table3") == {"dpo_bmc": "edit_losing_with_reference",
                                            "dpo_bmc_degrade": "degrade_winning_with_reference"}
    assert table_rows(CONFIG, "table5") == {"sft": "SFT", "dpo": "DPO", "dpo_bmc": "DPO-BMC", "ipo_bmc": "IPO-BMC"}
    assert table_rows(CONFIG, "table9") == {"sft": "SFT", "dpo": "DPO", "dpo_bmc": "DPO-BMC (rule)",
                                            "dpo_bmc_gpt4": "DPO-BMC (gpt-4-0125-preview)"}
    with pytest.raises(KeyError, match="table7"):
        table_rows(CONFIG, "table7")


def test_table3_rows_match_the_papers_direction_rows():
    from bmc.bridging.editors import DIRECTIONS

    assert set(load_paper("table3")["row"]) == set(DIRECTIONS)


def test_accuracy_cells_name_their_score_file():
    summary = {"test_sets": {"World": {"accuracy": 40.0}, "Numbers": {"accuracy": 50.0}}, "average": 45.0}
    cells = accuracy_cells({("qa", "sft"): (summary, "results/t/eval/qa/sft/scores.json")}, {"sft": "SFT"},
                           {"qa": "QA"}, per_test_set=True)
    assert [(c.row, c.setup, c.column, c.value) for c in cells] == [
        ("SFT", "QA", "World", 40.0), ("SFT", "QA", "Numbers", 50.0), ("SFT", "QA", "Avg", 45.0)]
    assert cells[0].source == "rule evaluate: results/t/eval/qa/sft/scores.json"
    assert accuracy_cells({("qa", "other"): (summary, "p")}, {"sft": "SFT"}, {"qa": "QA"}, True) == []

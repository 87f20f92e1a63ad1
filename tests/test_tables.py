"""Table 1 assembly: this run's numbers beside the paper's, missing cells left missing."""

from __future__ import annotations

import math

from bmc.tables import SetupColumns, load_paper_table1, table1_frame, table1_markdown

SETUPS = [SetupColumns("qa", "QA", "QA", ("World", "Numbers")), SetupColumns("math", "Math", "Math", ("All",))]


def summary(*accs):
    return {"test_sets": dict(zip(["World", "Numbers"] if len(accs) == 2 else ["All"],
                                  ({"accuracy": a} for a in accs))), "average": sum(accs) / len(accs)}


def test_paper_numbers_are_table1():
    paper = load_paper_table1()
    assert paper.loc["DPO-BMC", "QA Avg"] == 65.1 and paper.loc["SFT", "Math Avg"] == 47.6
    assert paper.loc["DPO-MC", "ECQA"] == 74.8 and len(paper) == 12


def test_frame_and_missing_cells():
    scores = {("qa", "SFT"): summary(40.0, 50.0), ("math", "SFT"): summary(60.0), ("qa", "DPO"): summary(42.0, 51.0)}
    frame = table1_frame(scores, SETUPS, ["SFT", "DPO"])
    assert frame.loc["SFT", "QA Avg"] == 45.0 and frame.loc["DPO", "QA World"] == 42.0
    assert math.isnan(frame.loc["DPO", "Math Avg"])  # never filled
    assert frame.loc["DPO", "paper QA Avg"] == 61.3
    md = table1_markdown(frame, SETUPS, "tiny", ["a note"])
    assert "This run (tiny study)" in md and "Paper, Table 1 (Llama-2-7B-base; not this run)" in md
    assert "| DPO      |   73.1 |" in md and "- a note" in md

"""Test-set converters: hub-format rows -> the official BMC record format, size checks, row/field errors,
atomic writes and the TabMWP subset. Offline: local fixtures in the hub's format (tests/fixtures/hub), and
the official files where they are present (skipped cleanly where not)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from conftest import official_file

import bmc.data.test_sets
from bmc.io import RecordError
from bmc.data.test_sets import (
    TEST_SETS,
    dumps_record,
    load_hub_rows,
    prepare_test_set,
    validate_records,
    write_records,
)
from bmc.data.converters import (
    SizeError,
    convert_arc,
    convert_ecqa,
    convert_gsm8k,
    convert_mawps,
    convert_openbookqa,
    convert_qasc,
    last_boxed,
    tabmwp_subset,
)

HUB = Path(__file__).resolve().parent / "fixtures" / "hub"
FIXTURES = {
    "ecqa": HUB / "ecqa" / "test.parquet",
    "qasc": HUB / "qasc" / "validation.parquet",
    "openbookqa": HUB / "openbookqa" / "main" / "test.parquet",
    "arc_easy": HUB / "ai2_arc" / "ARC-Easy" / "test.parquet",
    "strategyqa": HUB / "strategyqa" / "test.parquet",
    "gsm8k": HUB / "gsm8k" / "main" / "test.parquet",
    "math500": HUB / "math500" / "test.jsonl",
    "math_full": {"algebra": HUB / "hendrycks_math" / "algebra" / "test.parquet",
                  "counting_and_probability": HUB / "hendrycks_math" / "counting_and_probability" / "test.parquet"},
    "mawps": HUB / "mawps" / "test.jsonl",
    "tabmwp": HUB / "tabmwp" / "problems_test.json",
}
# Shared copies of the official files (tests/conftest.py: OFFICIAL_DATA).
OFFICIAL = {"ecqa": "QA/ECQA/test.jsonl", "qasc": "QA/QASC/test.jsonl", "openbookqa": "QA/OpenbookQA/test.jsonl",
            "arc_easy": "QA/ARC/test.jsonl", "gsm8k": "math/gsm8k/test.jsonl", "mawps": "math/mawps/test.jsonl"}


def _jsonl(path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _build(name, tmp_path, **kw):
    out = tmp_path / f"{name}.jsonl"
    summary = prepare_test_set(name, out, data_files=FIXTURES[name], check_size=False, **kw)
    return summary, _jsonl(out)


# --------------------------------------------------------------------------------------------------
# The registry: the paper's / official code's datasets, splits and sizes.


def test_registry_pins_hub_ids_splits_and_sizes():
    table = {n: (s.hub_id, s.config, s.split, s.size, s.setup, s.official) for n, s in TEST_SETS.items()}
    assert table == {
        "ecqa": ("tasksource/ecqa", None, "test", 2194, "QA", True),
        "qasc": ("allenai/qasc", None, "validation", 926, "QA", True),
        "openbookqa": ("allenai/openbookqa", "main", "test", 500, "QA", True),
        "arc_easy": ("allenai/ai2_arc", "ARC-Easy", "test", 2376, "QA", True),
        "strategyqa": ("ChilleD/StrategyQA", None, "test", 687, "QA", False),
        "gsm8k": ("openai/gsm8k", "main", "test", 1319, "Math", True),
        "math500": ("HuggingFaceH4/MATH-500", None, "test", 500, "Math", True),
        "math_full": ("EleutherAI/hendrycks_math",
                      ("algebra", "counting_and_probability", "geometry", "intermediate_algebra", "number_theory",
                       "prealgebra", "precalculus"), "test", 5000, "Math", False),
        "mawps": (None, None, "test", 2065, "Math", True),
        "tabmwp": (None, None, "test", 1000, "Math", True),
    }
    assert TEST_SETS["tabmwp"].source_size == 7686


def test_hub_loading_calls_load_dataset_per_config(monkeypatch):
    import datasets

    calls = []

    def fake(path, name=None, split=None, **kw):
        calls.append((path, name, split))
        return datasets.Dataset.from_list([{"question": f"q {name}", "answer": "a\n#### 1"}])

    monkeypatch.setattr(datasets, "load_dataset", fake)
    assert load_hub_rows("gsm8k") == [{"question": "q main", "answer": "a\n#### 1"}]
    assert calls == [("openai/gsm8k", "main", "test")]
    calls.clear()
    assert len(load_hub_rows("math_full")) == 7
    assert [c[1] for c in calls] == list(TEST_SETS["math_full"].config)
    assert {c[2] for c in calls} == {"test"}


def test_unreachable_hub_says_what_to_do(monkeypatch):
    import datasets

    def offline(*args, **kw):
        raise ConnectionError("Couldn't reach 'allenai/qasc' on the Hub (OfflineModeIsEnabled)")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(RuntimeError, match=r"qasc: could not load allenai/qasc split validation .*Hugging Face "
                                           r"cache, or pass data_files"):
        load_hub_rows("qasc")


def test_sets_without_hub_id_need_their_source_file():
    for name in ("mawps", "tabmwp"):
        with pytest.raises(ValueError, match="data_files"):
            load_hub_rows(name)


# --------------------------------------------------------------------------------------------------
# Each converter on its hub-format fixture.


def test_ecqa_fixture(tmp_path):
    summary, recs = _build("ecqa", tmp_path)
    assert summary["rows"] == summary["records"] == 3
    assert recs[0] == {
        # options lower-cased, unstripped ("ice cream "); answer and rationale as the dataset writes them
        "problem": "What does water become when it freezes?\nOptions:\nice cream \nice\nsteam\ncloud\nsand",
        "solution": "Water turns into ice below zero degrees.\nFreezing makes water solid\nThe answer is ice",
        "answer": "ice",
    }
    assert recs[1]["solution"] == ("Birds build nests in trees.\n\nTrees keep nests off the ground.\n"
                                   "The answer is tree")
    assert all(list(r) == ["problem", "solution", "answer"] for r in recs)


def test_qasc_fixture(tmp_path):
    _, recs = _build("qasc", tmp_path)
    assert recs[0] == {
        "problem": "What do plants need to make food?\nOptions:\nsunlight\ndarkness\nsalt water\nsand\nplastic\n"
                   "metal\nglass\nice",
        "solution": "Plants use light to make food.\nSunlight is a kind of light.\n"
                    "Plants need sunlight to make food. \nThe answer is Sunlight",
        "answer": "Sunlight",
    }
    assert recs[1]["answer"] == "Earth's magnetic field"
    assert "\nearth's magnetic field\n" in recs[1]["problem"]


def test_openbookqa_and_arc_fixtures(tmp_path):
    _, obqa = _build("openbookqa", tmp_path)
    assert obqa == [
        {"problem": "Which of these would melt fastest in the sun?\nOptions:\na rock\nan ice cube\na brick\n"
                    "a steel nail", "solution": "The answer is An ice cube", "answer": "An ice cube"},
        # answerKey " C" (stray space, as lm-eval guards against) still finds option C
        {"problem": "A magnet will stick to\nOptions:\na wooden spoon\na paper cup\nan iron pan\na glass jar",
         "solution": "The answer is an iron pan", "answer": "an iron pan"},
    ]
    _, arc = _build("arc_easy", tmp_path)
    assert arc[0] == {"problem": "Which object gives off its own light?\nOptions:\nthe moon\nthe sun\na mirror\n"
                                 "a window", "solution": "The answer is The Sun", "answer": "The Sun"}
    assert arc[1]["answer"] == "gram"  # numeric labels "1".."4"
    assert arc[2]["problem"].endswith("\nOptions:\nsolid\nliquid\ngas")  # 3 options


def test_strategyqa_fixture(tmp_path):
    _, recs = _build("strategyqa", tmp_path)
    assert recs == [
        {"problem": "Could a penguin fly across the Atlantic?\nOptions:\nyes\nno",
         "solution": "Penguins cannot fly.\nThe Atlantic is an ocean thousands of kilometres wide.\nThe answer is no",
         "answer": "no"},
        {"problem": "Is water wet enough to put out a candle?\nOptions:\nyes\nno", "solution": "The answer is yes",
         "answer": "yes"},
    ]


def test_gsm8k_math500_mawps_fixtures(tmp_path):
    _, gsm = _build("gsm8k", tmp_path)
    assert [list(r) for r in gsm] == [["question", "answer", "idx"]] * 3
    assert gsm[2] == {"question": "Sara had $20 and spent $8. How much money is left?",
                      "answer": "She has 20 - 8 = $<<20-8=12>>12 left.\n#### 12", "idx": 2}
    _, m500 = _build("math500", tmp_path)
    assert m500 == _jsonl(FIXTURES["math500"])  # passed through, no idx (as the official file)
    _, mawps = _build("mawps", tmp_path)
    assert mawps[1] == {"input": "A pen costs 3 dollars. How much do 6 pens cost ?", "target": 18.0,
                        "type": "singleop", "idx": 1}
    assert isinstance(mawps[1]["target"], float)
    assert (tmp_path / "mawps.jsonl").read_text().splitlines()[1] == (  # ToRA's (pandas) serialisation
        '{"input":"A pen costs 3 dollars. How much do 6 pens cost ?","target":18.0,"type":"singleop","idx":1}')


def test_json_styles_of_the_official_files():
    rec = {"question": "1/2 of Zo\u00eb\u2019s", "idx": 0}
    assert dumps_record(rec, "json") == '{"question": "1/2 of Zo\\u00eb\\u2019s", "idx": 0}'
    assert dumps_record(rec, "pandas") == '{"question":"1\\/2 of Zo\\u00eb\\u2019s","idx":0}'
    assert json.loads(dumps_record(rec, "pandas")) == rec
    assert {s.json_style for n, s in TEST_SETS.items() if s.setup == "QA"} == {"json"}
    assert [n for n, s in TEST_SETS.items() if s.json_style == "pandas"] == ["gsm8k", "mawps", "tabmwp"]


def test_full_math_fixture(tmp_path):
    _, recs = _build("math_full", tmp_path)
    assert [list(r) for r in recs] == [["problem", "solution", "answer", "subject", "level", "unique_id"]] * 3
    assert [(r["answer"], r["subject"], r["level"], r["unique_id"]) for r in recs] == [
        ("2", "Algebra", 1, "hendrycks_math/test/algebra/0"),
        ("2\\sqrt{2}", "Algebra", 3, "hendrycks_math/test/algebra/1"),  # the last \boxed
        ("6", "Counting & Probability", None, "hendrycks_math/test/counting_and_probability/0"),  # "Level ?"
    ]


def test_last_boxed():
    assert last_boxed("so $x=\\boxed{\\frac{1}{2}}$.") == "\\frac{1}{2}"
    assert last_boxed("\\boxed{1} then \\boxed{\\{a, b\\}}") == "\\{a, b\\}"
    assert last_boxed("\\fbox{7}") == "7"
    assert last_boxed("$\\boxed 5$") == "5"
    assert last_boxed("no box") is None
    assert last_boxed("\\boxed{unclosed") is None


# --------------------------------------------------------------------------------------------------
# Against the real official files: a hub-format row built to correspond to each official record converts
# back to that record exactly (fields, order, text layout).


def _split_problem(rec):
    question, options = rec["problem"].split("\nOptions:\n")
    return question, options.split("\n")


def _hub_row_with_key(rec):
    """A {question, choices, answerKey} row: options in arbitrary case (the converter lower-cases them) and
    the answer option in the dataset's own case."""
    question, options = _split_problem(rec)
    key = options.index(rec["answer"].lower())
    texts = [o[:1].upper() + o[1:] for o in options]
    texts[key] = rec["answer"]
    labels = [chr(ord("A") + j) for j in range(len(texts))]
    return question, {"choices": {"text": texts, "label": labels}, "answerKey": labels[key]}


def _rationale(rec):
    tail = "\nThe answer is " + rec["answer"]
    assert rec["solution"].endswith(tail)
    return rec["solution"][: -len(tail)]


def _ecqa_row(rec):
    question, options = _split_problem(rec)
    row = {"q_no": "x", "q_concept": "x", "q_text": question, "q_ans": rec["answer"],
           "taskA_pos": _rationale(rec), "taskA_neg": "x", "taskB": "x"}
    row.update({f"q_op{k + 1}": o for k, o in enumerate(options)})
    return row


def _qasc_row(rec):
    question, keyed = _hub_row_with_key(rec)
    fact1, fact2, combined = _rationale(rec).split("\n")
    return {"id": "x", "question": question, **keyed, "fact1": fact1, "fact2": fact2, "combinedfact": combined,
            "formatted_question": "x"}


def _obqa_row(rec):
    question, keyed = _hub_row_with_key(rec)
    assert rec["solution"] == "The answer is " + rec["answer"]
    return {"id": "x", "question_stem": question, **keyed}


def _arc_row(rec):
    question, keyed = _hub_row_with_key(rec)
    assert rec["solution"] == "The answer is " + rec["answer"]
    return {"id": "x", "question": question, **keyed}


@pytest.mark.parametrize("name, to_row, convert", [
    ("ecqa", _ecqa_row, convert_ecqa),
    ("qasc", _qasc_row, convert_qasc),
    ("openbookqa", _obqa_row, convert_openbookqa),
    ("arc_easy", _arc_row, convert_arc),
    ("gsm8k", lambda r: {"question": r["question"], "answer": r["answer"]}, convert_gsm8k),
    ("mawps", lambda r: {"input": r["input"], "target": r["target"], "type": r["type"]}, convert_mawps),
])
def test_reproduces_every_official_record(name, to_row, convert, tmp_path):
    path = official_file(OFFICIAL[name])
    official = _jsonl(path)
    assert len(official) == TEST_SETS[name].size
    records = convert([to_row(r) for r in official], "official")
    assert records == official
    assert [list(r) for r in records] == [list(r) for r in official]  # field order too
    validate_records(records, TEST_SETS[name], "official")
    write_records(tmp_path / "out.jsonl", records, TEST_SETS[name].json_style)
    assert (tmp_path / "out.jsonl").read_bytes() == path.read_bytes()  # byte for byte


def test_official_mawps_file_is_its_own_source(tmp_path):
    """MAWPS has no hub id: the converter validates ToRA's test.jsonl (= the official file) as is."""
    src = official_file(OFFICIAL["mawps"])
    summary = prepare_test_set("mawps", tmp_path / "mawps.jsonl", data_files=src)
    assert summary["records"] == 2065
    assert (tmp_path / "mawps.jsonl").read_bytes() == src.read_bytes()


# --------------------------------------------------------------------------------------------------
# Size checks, malformed rows, atomic writes.


def test_size_check_names_dataset_expected_and_got(tmp_path):
    with pytest.raises(SizeError, match=r"ecqa: expected 2194 rows in tasksource/ecqa, split test, got 3"):
        prepare_test_set("ecqa", tmp_path / "x.jsonl", data_files=FIXTURES["ecqa"])
    with pytest.raises(SizeError, match=r"tabmwp: expected 7686 rows .* got 12"):
        prepare_test_set("tabmwp", tmp_path / "x.jsonl", data_files=FIXTURES["tabmwp"])
    assert not (tmp_path / "x.jsonl").exists()


def _parquet(path, rows):
    import datasets

    datasets.Dataset.from_list(rows).to_parquet(str(path))
    return path


def _arc_rows():
    return [{"id": f"q{i}", "question": f"Question {i}?",
             "choices": {"text": ["one", "two", "three"], "label": ["A", "B", "C"]}, "answerKey": "B"}
            for i in range(3)]


def test_malformed_rows_fail_naming_file_row_and_field(tmp_path):
    rows = _arc_rows()
    rows[1]["answerKey"] = "E"
    bad = _parquet(tmp_path / "arc.parquet", rows)
    with pytest.raises(RecordError, match=r"arc.parquet, row 2, field 'answerKey': 'E' is not one of the labels"):
        prepare_test_set("arc_easy", tmp_path / "out.jsonl", data_files=bad, check_size=False)

    rows = _arc_rows()
    rows[2]["choices"] = {"text": ["one", ""], "label": ["A", "B"]}
    bad = _parquet(tmp_path / "arc2.parquet", rows)
    with pytest.raises(RecordError, match=r"arc2.parquet, row 3, field 'choices': option 2 text"):
        prepare_test_set("arc_easy", tmp_path / "out.jsonl", data_files=bad, check_size=False)

    rows = [{"q_text": "Q?", **{f"q_op{k}": f"o{k}" for k in range(1, 6)}, "q_ans": "o9", "taskA_pos": "r"}]
    with pytest.raises(RecordError, match=r"row 1, field 'q_ans': 'o9' is not one of the options"):
        convert_ecqa(rows, "ecqa.parquet")
    del rows[0]["taskA_pos"]
    rows[0]["q_ans"] = "o1"
    with pytest.raises(RecordError, match=r"ecqa.parquet, row 1, field 'taskA_pos': missing"):
        convert_ecqa(rows, "ecqa.parquet")
    with pytest.raises(RecordError, match=r"row 1, field 'answer': no '####'"):
        convert_gsm8k([{"question": "q", "answer": "7"}])

    mawps = tmp_path / "mawps.jsonl"
    mawps.write_text('{"input": "a", "target": 1.0, "type": "addsub"}\n'
                     '{"input": "b", "target": "2", "type": "addsub"}\n')
    with pytest.raises(RecordError, match=r"mawps.jsonl, row 2, field 'target': expected int or float, got str"):
        prepare_test_set("mawps", tmp_path / "out.jsonl", data_files=mawps, check_size=False)
    mawps.write_text('{"input": "a", "target": 1.0, "type": "addsub"}\n{"input": \n')
    with pytest.raises(RecordError, match=r"mawps.jsonl, row 2: not valid JSON"):
        prepare_test_set("mawps", tmp_path / "out.jsonl", data_files=mawps, check_size=False)
    mawps.write_text('{"input": "a", "target": 1.0, "type": "addsub", "idx": 5}\n')
    with pytest.raises(RecordError, match=r"row 1, field 'idx': expected 0"):
        prepare_test_set("mawps", tmp_path / "out.jsonl", data_files=mawps, check_size=False)
    assert not (tmp_path / "out.jsonl").exists()


def test_error_in_second_file_names_that_file_and_its_row(tmp_path):
    geometry = _parquet(tmp_path / "geometry.parquet", [
        {"problem": "p", "level": "Level 2", "type": "Geometry", "solution": "$\\boxed{1}$"},
        {"problem": "p", "level": "Level 2", "type": "Geometry", "solution": "no answer here"},
    ])
    files = {**FIXTURES["math_full"], "geometry": geometry}
    with pytest.raises(RecordError, match=r"geometry.parquet, row 2, field 'solution': no complete"):
        prepare_test_set("math_full", tmp_path / "out.jsonl", data_files=files, check_size=False)


def test_failure_leaves_no_file_and_keeps_an_old_one(tmp_path, monkeypatch):
    out = tmp_path / "out" / "gsm8k.jsonl"
    out.parent.mkdir()
    out.write_text("old\n")
    bad = _parquet(tmp_path / "gsm8k.parquet", [{"question": "q", "answer": "a\n#### 1"},
                                                {"question": "q", "answer": "3"}])
    with pytest.raises(RecordError, match="gsm8k.parquet, row 2, field 'answer': no '####'"):
        prepare_test_set("gsm8k", out, data_files=bad, check_size=False)
    assert out.read_text() == "old\n"
    assert [p.name for p in out.parent.iterdir()] == ["gsm8k.jsonl"]

    # A write that dies half-way (after the first record) leaves the old file and no temporary file.
    calls = []

    def dies_after_one(record, style):
        calls.append(record)
        if len(calls) > 1:
            raise OSError("disk full")
        return json.dumps(record)

    monkeypatch.setattr(bmc.data.test_sets, "dumps_record", dies_after_one)
    with pytest.raises(OSError, match="disk full"):
        prepare_test_set("gsm8k", out, data_files=FIXTURES["gsm8k"], check_size=False)
    assert out.read_text() == "old\n"
    assert [p.name for p in out.parent.iterdir()] == ["gsm8k.jsonl"]


def test_validate_records_checks_fields_order_and_types():
    spec = TEST_SETS["ecqa"]
    with pytest.raises(RecordError, match=r"row 1: fields \['answer', 'problem', 'solution'\]"):
        validate_records([{"answer": "a", "problem": "p", "solution": "s"}], spec, "x")
    with pytest.raises(RecordError, match=r"row 2, field 'solution': empty"):
        validate_records([{"problem": "p", "solution": "s", "answer": "a"},
                          {"problem": "p", "solution": " ", "answer": "a"}], spec, "x")


# --------------------------------------------------------------------------------------------------
# TabMWP: the official loader's random subset, reproduced deterministically.


def test_tabmwp_subset_is_the_official_loaders_sample():
    indices = tabmwp_subset(7686)
    assert indices[:8] == [6917, 3155, 6209, 7292, 3445, 331, 2121, 4188]  # pinned
    assert len(indices) == len(set(indices)) == 1000
    assert tabmwp_subset(7686) == indices
    state = random.getstate()
    try:  # the official code: set_seed(0) -> random.seed(0); then random.sample(range(len(dataset)), 1000)
        random.seed(0)
        assert random.sample(range(7686), 1000) == indices
    finally:
        random.setstate(state)


def test_tabmwp_full_size_source_gives_the_sampled_records(tmp_path):
    fixture = json.loads(FIXTURES["tabmwp"].read_text())
    template = next(iter(fixture.values()))
    problems = {str(pid): {**template, "question": f"question {n}"} for n, pid in enumerate(range(5000, 5000 + 7686))}
    src = tmp_path / "problems_test.json"
    src.write_text(json.dumps(problems))
    out = tmp_path / "tabmwp.jsonl"
    summary = prepare_test_set("tabmwp", out, data_files=src)
    recs = _jsonl(out)
    assert summary["records"] == len(recs) == 1000
    assert [r["question"] for r in recs] == [f"question {j}" for j in tabmwp_subset(7686)]
    assert [r["idx"] for r in recs] == list(range(1000))
    assert list(recs[0]) == [*template, "idx"]  # every PromptPG field, in file order, then idx


def test_tabmwp_fixture_subset_without_size_check(tmp_path):
    _, recs = _build("tabmwp", tmp_path)
    problems = list(json.loads(FIXTURES["tabmwp"].read_text()).values())
    assert recs == [{**problems[j], "idx": k} for k, j in enumerate(random.Random(0).sample(range(12), 12))]
    assert _build("tabmwp", tmp_path)[1] == recs
    assert any(r["table_title"] is None for r in recs) and any(r["choices"] for r in recs)


def test_tabmwp_bad_problem_is_named(tmp_path):
    problems = json.loads(FIXTURES["tabmwp"].read_text())
    list(problems.values())[3]["ans_type"] = "fraction"
    src = tmp_path / "problems_test.json"
    src.write_text(json.dumps(problems))
    with pytest.raises(RecordError, match=r"problems_test.json, row 4, field 'ans_type': unknown answer type"):
        prepare_test_set("tabmwp", tmp_path / "out.jsonl", data_files=src, check_size=False)

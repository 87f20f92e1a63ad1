"""The paper's tables rebuilt from this run's files: every cell holds the reproduced value, the paper's value
(``bmc/report/paper/paper_results.csv``) and their difference, and names the file and rule that made the
reproduced value.

A cell missing on either side stays missing (NaN in CSV, "–" in Markdown, "--" in LaTeX); nothing is filled.
Which of the study's models stands for which row of each paper table, and the cells from this run's files, are
in :mod:`bmc.report.rows`.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from importlib import resources
from io import StringIO

import pandas as pd


# Paper tables: title, what the reproduced rows are, and how many decimals a cell shows.
TABLES = {
    "table1": "Table 1: QA and math accuracy (%) after SFT and preference training",
    "table2": "Table 2: instruction following (AlpacaEval 2 LC/WR %, Arena-Hard WR %, length in tokens)",
    "table3": "Table 3: data-synthesis direction of the Bridging phase (DPO-BMC)",
    "table4": "Table 4: sequence-level reward margin and reward accuracy (%) on held-out pairs",
    "table5": "Table 5: versatility, XPO vs XPO-BMC (average accuracy %, AlpacaEval 2 LC %)",
    "table9": "Table 9: the editor LLM of the Bridging phase (DPO-BMC)",
}
MISSING_MD = "–"
COLUMNS = ["row", "setup", "column", "ours", "paper", "diff", "std", "seeds", "source", "paper_note"]


@dataclass(frozen=True)
class Cell:
    """One reproduced number and where it comes from (``rule: path``)."""

    row: str
    setup: str
    column: str
    value: float
    source: str
    std: float | None = None  # sample standard deviation over seeds (None: one seed)
    seeds: int = 1


def load_paper(table: str | None = None) -> pd.DataFrame:
    text = resources.files("bmc.report").joinpath("paper/paper_results.csv").read_text(encoding="utf-8")
    frame = pd.read_csv(StringIO(text), comment="#", keep_default_na=False, na_values=[""])
    frame["note"] = frame["note"].fillna("")
    if table is not None:
        if table not in TABLES:
            raise KeyError(f"unknown paper table {table!r} (have {sorted(TABLES)})")
        frame = frame[frame["table"] == table].reset_index(drop=True)
    return frame


def _ordered(first: list[str], second: list[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))


def compare(table: str, cells: list[Cell], paper: pd.DataFrame | None = None) -> pd.DataFrame:
    """Tidy frame, one line per (row, setup, column) present in this run or in the paper.

    Rows: the paper's rows in the paper's order, then rows only this run has. Setups: the paper's order, then
    this run's others. Columns within a setup: this run's, then the paper's others, averages last."""
    paper = load_paper(table) if paper is None else paper
    seen: dict[tuple[str, str, str], Cell] = {}
    for c in cells:
        key = (c.row, c.setup, c.column)
        if key in seen:
            raise ValueError(f"{table}: two values for row {c.row!r}, {c.setup} {c.column!r}: "
                             f"{seen[key].source} and {c.source}")
        seen[key] = c
    ours_rows = [c.row for c in cells]
    rows = _ordered(list(paper["row"]), ours_rows)
    setups = _ordered(list(paper["setup"]), [c.setup for c in cells])
    paper_index = {(r.row, r.setup, r.column): r for r in paper.itertuples()}
    lines = []
    for setup in setups:
        ours_cols = [c.column for c in cells if c.setup == setup]
        paper_cols = list(paper.loc[paper["setup"] == setup, "column"])
        columns = _ordered(ours_cols, paper_cols)
        columns = [c for c in columns if c != "Avg"] + (["Avg"] if "Avg" in columns else [])
        for column in columns:
            for row in rows:
                mine, theirs = seen.get((row, setup, column)), paper_index.get((row, setup, column))
                if mine is None and theirs is None:
                    continue
                ours_v = float(mine.value) if mine is not None else float("nan")
                paper_v = float(theirs.value) if theirs is not None else float("nan")
                std = mine.std if mine is not None and mine.std is not None else float("nan")
                lines.append({"row": row, "setup": setup, "column": column, "ours": ours_v, "paper": paper_v,
                              "diff": ours_v - paper_v, "std": std, "seeds": mine.seeds if mine else float("nan"),
                              "source": mine.source if mine else "",
                              "paper_note": theirs.note if theirs is not None else ""})
    frame = pd.DataFrame(lines, columns=COLUMNS)
    # Keep rows in the table's row order (the loops above went column-major).
    frame["_r"] = frame["row"].map({r: i for i, r in enumerate(rows)})
    frame["_c"] = range(len(frame))
    return frame.sort_values(["_r", "_c"]).drop(columns=["_r", "_c"]).reset_index(drop=True)


def _seed_note(frame: pd.DataFrame) -> str:
    """", mean ± std over N seeds" when some cell averages more than one seed."""
    most = frame["seeds"].max()
    return f"; mean ± std over up to {int(most)} seeds" if most > 1 else ""


def side(frame: pd.DataFrame, value: str) -> pd.DataFrame:
    """The lines of one block: ``ours`` (what this study ran), ``paper`` (the paper's cells) or ``diff`` (cells
    on both sides). A block's rows and columns are those of its lines only."""
    keep = frame["ours"].notna() if value == "ours" else frame["paper"].notna() if value == "paper" else \
        frame["ours"].notna() & frame["paper"].notna()
    return frame[keep]


def wide(frame: pd.DataFrame, value: str) -> pd.DataFrame:
    """Rows x (setup, column) of one of ours/paper/diff, in the tidy frame's order."""
    rows = list(dict.fromkeys(frame["row"]))
    cols = list(dict.fromkeys(zip(frame["setup"], frame["column"])))
    out = frame.pivot_table(index="row", columns=["setup", "column"], values=value, aggfunc="first", dropna=False)
    out = out.reindex(index=rows, columns=pd.MultiIndex.from_tuples(cols, names=["setup", "column"]))
    return out


def _fmt(value: float, column: str, signed: bool = False, std: float = float("nan")) -> str:
    if pd.isna(value):
        return MISSING_MD
    digits = 0 if column.endswith("Len") else 3 if "margin" in column else 1
    text = f"{value:{'+' if signed else ''}.{digits}f}"
    return text if pd.isna(std) else f"{text} ± {std:.{digits}f}"  # mean ± std over seeds


def _std(w: pd.DataFrame, std: pd.DataFrame | None, row, key) -> float:
    return float("nan") if std is None else std.loc[row, key]


def _md_table(w: pd.DataFrame, signed: bool = False, std: pd.DataFrame | None = None) -> str:
    header = ["", *[f"{s} {c}" for s, c in w.columns]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row, values in w.iterrows():
        cells = [_fmt(v, c, signed, _std(w, std, row, (s, c))) for (s, c), v in values.items()]
        lines.append("| " + " | ".join([str(row), *cells]) + " |")
    return "\n".join(lines)


def to_markdown(table: str, frame: pd.DataFrame, study: str, notes: list[str] = (), paired=()) -> str:
    """Three blocks (this run, the paper, this run minus the paper), then where each number comes from."""
    parts = [f"# {TABLES[table]}", ""]
    if frame["ours"].notna().sum() == 0:
        parts += [f"*This {study} study produced none of this table's cells (see the notes).*", ""]
    ours, paper, both = side(frame, "ours"), side(frame, "paper"), side(frame, "diff")
    for title, part, value, signed in ((f"This run ({study} study{_seed_note(frame)})", ours, "ours", False),
                                       ("Paper (Jiang et al., ICLR 2025; not this run)", paper, "paper", False),
                                       ("Difference: this run − paper", both, "diff", True)):
        parts += [f"## {title}", ""]
        parts += [_md_table(wide(part, value), signed, wide(part, "std") if value == "ours" else None)
                  if len(part) else "*No cell on both sides.*", ""]
        if value == "ours" and paired:
            parts += ["### Paired difference to DPO (this run)", "", _md_paired(paired), "",
                      PAIRED_NOTE, ""]
    parts += [f"This run shows only the rows and test sets the study ran; the paper's others are in its own block. "
              f"Missing cells ({MISSING_MD}) are missing on one side; none is filled.", ""]
    sources = frame.loc[frame["source"] != "", ["row", "setup", "source"]].drop_duplicates()
    if len(sources):
        parts += ["## Where each number comes from", ""]
        parts += [f"- {r.row}, {r.setup}: {r.source}" for r in sources.itertuples()]
        parts.append("")
    paper_notes = frame.loc[frame["paper_note"] != "", ["row", "setup", "column", "paper_note"]].drop_duplicates()
    if len(notes) or len(paper_notes):
        parts += ["## Notes", ""]
        parts += [f"- {n}" for n in notes]
        parts += [f"- Paper, {r.row} {r.setup} {r.column}: {r.paper_note}" for r in paper_notes.itertuples()]
        parts.append("")
    return "\n".join(parts)


_HTML_STYLE = """body{font-family:system-ui,sans-serif;margin:1.2em;color:#222}
table{border-collapse:collapse;margin:0.4em 0 1.4em}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}td.missing{color:#aaa;text-align:center}
caption{text-align:left;font-weight:bold;padding:4px 0}li{margin:2px 0}"""


def _html_table(w: pd.DataFrame, caption: str, signed: bool = False, std: pd.DataFrame | None = None) -> str:
    head = "".join(f"<th>{escape(f'{s} {c}')}</th>" for s, c in w.columns)
    lines = [f"<table><caption>{escape(caption)}</caption><tr><th></th>{head}</tr>"]
    for row, values in w.iterrows():
        cells = "".join(f'<td class="missing">{MISSING_MD}</td>' if pd.isna(v)
                        else f"<td>{_fmt(v, c, signed, _std(w, std, row, (s, c)))}</td>"
                        for (s, c), v in values.items())
        lines.append(f"<tr><td>{escape(str(row))}</td>{cells}</tr>")
    return "\n".join([*lines, "</table>"])


def to_html(table: str, frame: pd.DataFrame, study: str, notes: list[str] = (), paired=()) -> str:
    """A self-contained page (for the HTML report): the blocks of :func:`to_markdown` as HTML tables."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(TABLES[table])}</title>",
             f"<style>{_HTML_STYLE}</style></head><body><h2>{escape(TABLES[table])}</h2>"]
    if frame["ours"].notna().sum() == 0:
        parts.append(f"<p><em>This {escape(study)} study produced none of this table's cells (see the notes).</em></p>")
    ours, paper, both = side(frame, "ours"), side(frame, "paper"), side(frame, "diff")
    for title, part, value, signed in ((f"This run ({study} study{_seed_note(frame)})", ours, "ours", False),
                                       ("Paper (Jiang et al., ICLR 2025; not this run)", paper, "paper", False),
                                       ("Difference: this run − paper", both, "diff", True)):
        parts.append(_html_table(wide(part, value), title, signed, wide(part, "std") if value == "ours" else None)
                     if len(part) else f"<p><em>{escape(title)}: no cell on both sides.</em></p>")
        if value == "ours" and paired:
            parts += [_html_paired(paired), f"<p>{escape(PAIRED_NOTE)}</p>"]
    parts.append(f"<p>This run shows only the rows and test sets the study ran; the paper's others are in its own "
                 f"table. Missing cells ({MISSING_MD}) are missing on one side; none is filled.</p>")
    sources = frame.loc[frame["source"] != "", ["row", "setup", "source"]].drop_duplicates()
    if len(sources):
        parts.append("<h3>Where each number comes from</h3><ul>")
        parts += [f"<li>{escape(f'{r.row}, {r.setup}: {r.source}')}</li>" for r in sources.itertuples()]
        parts.append("</ul>")
    paper_notes = frame.loc[frame["paper_note"] != "", ["row", "setup", "column", "paper_note"]].drop_duplicates()
    if len(notes) or len(paper_notes):
        parts.append("<h3>Notes</h3><ul>")
        parts += [f"<li>{escape(n)}</li>" for n in notes]
        parts += [f"<li>{escape(f'Paper, {r.row} {r.setup} {r.column}: {r.paper_note}')}</li>"
                  for r in paper_notes.itertuples()]
        parts.append("</ul>")
    return "\n".join([*parts, "</body></html>", ""])


PAIRED_NOTE = ("Paired difference: method minus DPO in the setup average (points), same test questions and "
               "same seeds; 95% interval of a two-level paired bootstrap (seeds, then questions within each test "
               "set, resampled with replacement; 10,000 resamples, seeded). * marks an interval that excludes 0.")


def _paired_text(d) -> str:
    return f"{d.diff:+.1f} [{d.low:+.1f}, {d.high:+.1f}]{' *' if d.significant else ''}"


def _paired_grid(paired) -> tuple[list[str], list[str], dict]:
    methods = list(dict.fromkeys(d.method for d in paired))
    setups = list(dict.fromkeys(d.setup for d in paired))
    return methods, setups, {(d.method, d.setup): d for d in paired}


def _md_paired(paired) -> str:
    methods, setups, at = _paired_grid(paired)
    lines = ["| vs DPO | " + " | ".join(f"{s} Avg" for s in setups) + " |", "|" + "---|" * (len(setups) + 1)]
    for m in methods:
        lines.append(f"| {m} | " + " | ".join(_paired_text(at[m, s]) if (m, s) in at else MISSING_MD
                                              for s in setups) + " |")
    first = paired[0]
    lines += ["", f"{first.seeds} seeds x {first.questions} test questions per setup pair (per cell: seeds, questions "
              "in table1_paired.csv)."]
    return "\n".join(lines)


def _html_paired(paired) -> str:
    methods, setups, at = _paired_grid(paired)
    head = "".join(f"<th>{escape(s)} Avg</th>" for s in setups)
    lines = [f"<table><caption>Paired difference to DPO (this run)</caption><tr><th>vs DPO</th>{head}</tr>"]
    for m in methods:
        cells = "".join(f"<td>{escape(_paired_text(at[m, s]))}</td>" if (m, s) in at
                        else f'<td class="missing">{MISSING_MD}</td>' for s in setups)
        lines.append(f"<tr><td>{escape(m)}</td>{cells}</tr>")
    return "\n".join([*lines, "</table>"])


def paired_frame(paired) -> pd.DataFrame:
    """The paired differences as a tidy CSV frame."""
    return pd.DataFrame([{"row": d.method, "reference": d.reference, "setup": d.setup, "column": "Avg",
                          "diff": d.diff, "low": d.low, "high": d.high, "significant": d.significant,
                          "seeds": d.seeds, "questions": d.questions} for d in paired])


def _tex(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"),
                 ("~", r"\textasciitilde{}"), ("->", r"$\rightarrow$")):
        text = text.replace(a, b)
    return text


def to_latex(table: str, frame: pd.DataFrame, study: str) -> str:
    """A booktabs tabular: each cell is "this run (paper)"; "--" where a side is missing."""
    mine = side(frame, "ours") if frame["ours"].notna().any() else frame
    ours, paper, std = wide(mine, "ours"), wide(mine, "paper"), wide(mine, "std")
    setups = list(dict.fromkeys(s for s, _ in ours.columns))
    spans = [(s, sum(1 for t, _ in ours.columns if t == s)) for s in setups]
    lines = [
        f"% {TABLES[table]} -- {study} study; each cell: this run (paper). Generated by the table rule.",
        r"\begin{tabular}{l" + "c" * len(ours.columns) + "}",
        r"\toprule",
        " & ".join(["", *[rf"\multicolumn{{{n}}}{{c}}{{{_tex(s)}}}" for s, n in spans]]) + r" \\",
        " & ".join(["", *[_tex(c) for _, c in ours.columns]]) + r" \\",
        r"\midrule",
    ]
    for row in ours.index:
        cells = []
        for key in ours.columns:
            a, b = ours.loc[row, key], paper.loc[row, key]
            fa = "--" if pd.isna(a) else _fmt(a, key[1], std=std.loc[row, key]).replace("±", r"$\pm$")
            fb = "--" if pd.isna(b) else _fmt(b, key[1])
            cells.append(f"{fa} ({fb})")
        lines.append(" & ".join([_tex(str(row)), *cells]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", ""]
    return "\n".join(lines)

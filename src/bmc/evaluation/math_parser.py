"""The official math harness's parser (official ``eval/math/eval/parser.py``, the paper's experimental setup: GSM8K,
MATH-500, MAWPS, TabMWP): gold answers, questions and the extracted, normalised prediction.

DPO-BMC scores GSM8K, MATH-500 ("math-oai"), MAWPS and TabMWP with the JiuZhang3.0 copy of the ToRA /
math-evaluation-harness code (``eval/math/eval/{parser,grader,evaluate}.py``, see
``docs/official-code.md`` section 1.2). This module reproduces the parser half, function by function:

* :func:`parse_ground_truth` and :func:`math_question` are ``parser.parse_ground_truth`` (the answer half)
  and ``parser.parse_question`` for the four BMC test sets.
* :func:`extract_answer` is ``parser.run_execute`` for a chain-of-thought response:
  ``strip_string(parser.extract_answer(response))``. :func:`strip_string` is ``parser.strip_string``,
  quirks included (the MathQA unit words, "and" and single letters such as "a" or "s" are deleted).

The equivalence check and the timed scoring loop are in :mod:`bmc.evaluation.math_grader`.
"""

from __future__ import annotations

import math
import re
from typing import Any

MATH_DATASETS = ("gsm8k", "math-oai", "mawps", "tabmwp")


# ------------------------------------------------------------------------------ ground truth, questions
def parse_ground_truth(record: dict, dataset: str) -> str:
    """The gold answer as ``parser.parse_ground_truth`` makes it (its second return value).

    * gsm8k: the text after "####" in ``answer``;
    * math-oai (MATH-500; "math" is accepted too): the last ``\\boxed{}`` of ``solution``, extracted as a
      prediction would be;
    * mawps: ``target``, a float such as 43.0 (which ``strip_string`` turns into "43");
    * tabmwp: ``answer``, turned into a float for ``integer_number``/``decimal_number`` answers ("a/b" is
      divided, commas dropped, "p%" becomes p/100).

    Every gold then goes through :func:`strip_string`.
    """
    if dataset in ("math-oai", "math"):
        gold: Any = _extract_answer_once(record["solution"])
    elif dataset == "gsm8k":
        gold = record["answer"].split("####")[-1]
    elif dataset == "mawps":
        gold = record["target"]
    elif dataset == "tabmwp":
        gold = record["answer"]
        if record["ans_type"] in ("integer_number", "decimal_number"):
            if "/" in gold:
                numerator, denominator = gold.split("/")[:2]
                gold = int(numerator) / int(denominator)
            elif "," in gold:
                gold = float(gold.replace(",", ""))
            elif "%" in gold:
                gold = float(gold.split("%")[0]) / 100
            else:
                gold = float(gold)
    else:
        raise ValueError(f"unknown math dataset {dataset!r}; expected one of {MATH_DATASETS}")
    return strip_string(gold)


def math_question(record: dict, dataset: str) -> str:
    """The question text as ``parser.parse_question`` builds it (before the prompt template).

    gsm8k uses ``question``, math-oai ``problem``, mawps ``input``. TabMWP becomes
    'Read the following table regarding "<title>" and answer a question:\\n<table>\\n<question>' (the
    'regarding ...' part only when there is a title), plus ' Please select from the following options:
    <choices>' when there are choices. When the gold answer is true/false or yes/no, ' (True or False)'
    or ' (Yes or No)' is appended. The result is stripped.
    """
    if dataset == "tabmwp":
        title = f'regarding "{record["table_title"]}" ' if record.get("table_title") else ""
        question = f"Read the following table {title}and answer a question:\n"
        question += f'{record["table"]}\n{record["question"]}'
        if record.get("choices"):
            question += f' Please select from the following options: {record["choices"]}'
    elif dataset in ("gsm8k", "math-oai", "math", "mawps"):
        question = next((record[k] for k in ("question", "problem", "Question", "input") if k in record), "")
    else:
        raise ValueError(f"unknown math dataset {dataset!r}; expected one of {MATH_DATASETS}")
    gold = parse_ground_truth(record, dataset).lower()
    if gold in ("true", "false"):
        question += " (True or False)"
    if gold in ("yes", "no"):
        question += " (Yes or No)"
    return question.strip()


# ------------------------------------------------------------------------------ prediction extraction
_LAST_NUMBER = re.compile(r"-?\d*\.?\d+")


def _boxed_content(after_boxed: str) -> str:
    """What follows the last "boxed": the brace-matched ``{...}`` group (an unclosed group runs to the
    end), or for ``\\boxed 5`` the text up to the next "$"."""
    if not after_boxed.startswith("{"):
        return after_boxed.split("$")[0].strip()
    depth, out = 1, []
    for ch in after_boxed[1:]:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                break
        out.append(ch)
    return "".join(out)


def _extract_answer_once(response: str, skip_unit: bool = False) -> str:
    """``parser.extract_answer`` for the BMC test sets: the first rule that applies of

    1. Minerva's "final answer is $...$. I hope" (the first such answer);
    2. the last ``boxed`` (brace matching);
    3. the text after the last "he answer is";
    4. the text after the last "final answer is";
    5. the last number ``-?\\d*\\.?\\d+`` once commas are removed;

    then newlines (with following spaces) are removed, one leading ":" and one trailing "." and "/"
    dropped, and the result passed through :func:`strip_string`.
    """
    text = response.replace("\u043a\u0438", "")  # Math-Shepherd's step tag "ки"
    if "final answer is $" in text and "$. I hope" in text:
        pred = text.split("final answer is $", 1)[1].split("$. I hope", 1)[0].strip()
    elif "boxed" in text:
        after = text.split("boxed")[-1]
        if not after:
            return ""
        pred = _boxed_content(after)
    elif "he answer is" in text:
        pred = text.split("he answer is")[-1].strip()
    elif "final answer is" in text:
        pred = text.split("final answer is")[-1].strip()
    else:
        numbers = _LAST_NUMBER.findall(text.replace(",", ""))
        pred = numbers[-1] if numbers else ""
    pred = re.sub(r"\n\s*", "", pred)
    if pred.startswith(":"):
        pred = pred[1:]
    if pred.endswith("."):
        pred = pred[:-1]
    if pred.endswith("/"):
        pred = pred[:-1]
    return strip_string(pred, skip_unit=skip_unit)


def extract_answer(response: str, skip_unit: bool = False) -> str:
    """The prediction the official harness scores for a chain-of-thought response.

    ``parser.run_execute`` returns ``strip_string(extract_answer(response))`` and ``extract_answer``
    already ends in ``strip_string``, so the string is stripped twice, as here (see
    :func:`_extract_answer_once` for the extraction rules). An empty response, or the literal "error",
    gives "" (the official ``None``). ``skip_unit`` is only set for carp_en / minerva_math, never for
    the BMC test sets.
    """
    if not response or response == "error":
        return ""
    return strip_string(_extract_answer_once(response, skip_unit=skip_unit), skip_unit=skip_unit)


# ------------------------------------------------------------------------------ strip_string
# parser.unit_texts: unit words, mainly from MathQA, in the official order; their plurals ("+s") follow
# all of them. They are regular expressions as written ("q ." matches "q" + any character).
_UNIT_WORDS = [
    "east", "degree", "mph", "kmph", "ft", "m sqaure", " m east", "sq m", "deg", "mile",
    "q .", "monkey", "prime", "ratio", "profit of rs", "rd", "o", "gm",
    "p . m", "lb", "tile", "per", "dm", "lt", "gain", "ab", "way", "west",
    "a .", "b .", "c .", "d .", "e .", "f .", "g .", "h .", "t", "a", "h",
    "no change", "men", "soldier", "pie", "bc", "excess", "st",
    "inches", "noon", "percent", "by", "gal", "kmh", "c", "acre", "rise",
    "a . m", "th", "π r 2", "sq", "mark", "l", "toy", "coin",
    "sq . m", "gallon", "° f", "profit", "minw", "yr", "women",
    "feet", "am", "pm", "hr", "cu cm", "square", "v â € ™", "are",
    "rupee", "rounds", "cubic", "cc", "mtr", "s", "ohm", "number",
    "kmph", "day", "hour", "minute", "min", "second", "man", "woman",
    "sec", "cube", "mt", "sq inch", "mp", "∏ cm ³", "hectare", "more",
    "sec", "unit", "cu . m", "cm 2", "rs .", "rs", "kg", "g", "month",
    "km", "m", "cm", "mm", "apple", "liter", "loss", "yard",
    "pure", "year", "increase", "decrease", "d", "less", "Surface",
    "litre", "pi sq m", "s .", "metre", "meter", "inch",
]
UNIT_TEXTS = _UNIT_WORDS + [w + "s" for w in _UNIT_WORDS]
# (pattern, literal): a word without "." can only match where it occurs literally, which lets most of
# the ~330 substitutions be skipped with a substring test; the result is the same.
_UNIT_PATTERNS = [(re.compile(r"(^|\W)" + w + r"($|\W)"), None if "." in w else w) for w in UNIT_TEXTS]


def _fix_fracs(s: str) -> str:
    """``\\frac12`` -> ``\\frac{1}{2}``, ``\\frac1{72}`` -> ``\\frac{1}{72}`` (Hendrycks MATH)."""
    parts = s.split("\\frac")
    out = parts[0]
    for part in parts[1:]:
        out += "\\frac"
        if part.startswith("{"):
            out += part
            continue
        if len(part) < 2:
            return s
        a, b, rest = part[0], part[1], part[2:]
        out += "{" + a + "}" + ("{" + b + "}" if b != "{" else b) + rest
    return out


def _fix_a_slash_b(s: str) -> str:
    """"a/b" with integer a and b (or sqrt terms) -> ``\\frac{a}{b}``; anything else is left alone."""
    parts = s.split("/")
    if len(parts) != 2:
        return s
    a, b = parts
    try:
        a_val = a if "sqrt" in a else int(a)
        b_val = b if "sqrt" in b else int(b)
    except ValueError:
        return s
    if s != f"{a_val}/{b_val}":  # "01/2", " 1/2" and the like are not rewritten
        return s
    return f"\\frac{{{a_val}}}{{{b_val}}}"


def _fix_sqrt(s: str) -> str:
    """``\\sqrt2`` -> ``\\sqrt{2}``."""
    return re.sub(r"\\sqrt(\w+)", r"\\sqrt{\1}", s)


def _word_number(s: str) -> str:
    """Number words to digits with ``word2number`` ("two hundred" -> "200"); other strings unchanged."""
    from word2number import w2n

    try:
        return str(w2n.word_to_num(s))
    except Exception:  # w2n raises ValueError (and IndexError on some inputs) for non-number text
        return s


def strip_string(s: Any, skip_unit: bool = False) -> str:
    """``parser.strip_string``: normalise an answer string, step for step as the official code does.

    Removes line breaks and trailing "."s and ``\\!``; turns array/bmatrix into pmatrix and
    tfrac/dfrac into frac; shortens ``\\neq``/``\\leq``/``\\geq``; removes ``\\left``/``\\right`` and escaped
    braces; drops a trailing ``\\text{...}`` unit; unless ``skip_unit``, deletes the MathQA unit words
    (twice over); removes ``^\\circ``, dollar signs and ``\\(``/``\\)``; converts number words to digits;
    unwraps ``\\text{...}``; deletes "x=", "y\\in", ...; maps ``\\emptyset`` and (-inf, inf); removes
    percent signs; writes " .5" as " 0.5"; spells infinity ``\\infty``; deletes "and", ``\\mathbf`` and
    ``\\mbox{...}``; j -> i when there is no i; drops trailing ".0"s; removes a short (<= 2 characters)
    "k=" prefix; fixes ``\\sqrt2``; removes spaces; fixes ``\\frac12`` and "a/b".
    """
    s = str(s).strip()
    s = s.replace("\n", "")
    s = s.rstrip(".")
    s = s.replace("\\!", "")
    # matrices
    s = re.sub(r"\\begin\{array\}\{.*?\}", r"\\begin{pmatrix}", s)
    s = re.sub(r"\\end\{array\}", r"\\end{pmatrix}", s)
    s = s.replace("bmatrix", "pmatrix")
    s = s.replace("tfrac", "frac").replace("dfrac", "frac")
    s = s.replace("\\neq", "\\ne").replace("\\leq", "\\le").replace("\\geq", "\\ge")
    s = s.replace("\\left", "").replace("\\right", "")
    s = s.replace("\\{", "{").replace("\\}", "}")
    # a trailing \text{unit}, unless that leaves nothing
    without_unit = re.sub(r"\\text{.*?}$", "", s).strip()
    if without_unit != "" and without_unit != s:
        s = without_unit
    if not skip_unit:
        for _ in range(2):
            for pattern, literal in _UNIT_PATTERNS:
                if literal is not None and literal not in s:
                    continue
                replaced = pattern.sub(r"\1\2", s)
                if replaced != "":
                    s = replaced
    s = s.replace("^{\\circ}", "").replace("^\\circ", "")
    s = s.replace("\\$", "").replace("$", "")
    s = s.replace("\\(", "").replace("\\)", "")
    s = _word_number(s)
    s = re.sub(r"\\text\{(.*?)\}", r"\1", s)
    for key in ("x=", "y=", "z=", "x\\in", "y\\in", "z\\in", "x\\to", "y\\to", "z\\to"):
        s = s.replace(key, "")
    s = s.replace("\\emptyset", "{}")
    s = s.replace("(-\\infty,\\infty)", "\\mathbb{R}")
    s = s.replace("\\%", "").replace("%", "")
    s = s.replace(" .", " 0.").replace("{.", "{0.")
    # Official: strip enclosing {} () [] when the whole string is alphanumeric, which can never hold
    # for a string that starts with a bracket; kept for the record.
    if s[:1] + s[-1:] in ("{}", "()", "[]") and s.isalnum():
        s = s[1:-1]
    s = s.replace("infinity", "\\infty")
    if "\\infty" not in s:
        s = s.replace("inf", "\\infty")
    s = s.replace("+\\inity", "\\infty")
    s = s.replace("and", "")
    s = s.replace("\\mathbf", "")
    s = re.sub(r"\\mbox{.*?}", "", s)
    # (the official code also calls s.replace("'", "") and s.replace('"', "") but drops the results)
    if "j" in s and "i" not in s:
        s = s.replace("j", "i")
    # 2.000 -> 2, 2.0x -> 2x
    s = re.sub(r"(\d+)\.0*([^\d])", r"\1\2", s)
    s = re.sub(r"(\d+)\.0*$", r"\1", s)
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s
    sides = s.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:
        s = sides[1]
    s = _fix_sqrt(s)
    s = s.replace(" ", "")
    s = _fix_fracs(s)
    s = _fix_a_slash_b(s)
    return s

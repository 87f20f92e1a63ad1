"""Synthetic tasks for the tiny study, in the record schema of the paper's real data.

Two tasks stand in for the paper's QA and math setups:

* ``multiple_choice`` (QA): ``problem`` is a question, "\\nOptions:\\n" and one option per line (as in
  ECQA/QASC/OpenBookQA/ARC); ``answer`` is the option text; ``solution`` is a short rationale ending in
  "\\nThe answer is <answer>".
* ``arithmetic`` (math): a word problem with 1-3 add/subtract steps; ``solution`` gives one equation per
  step and ends in "\\nThe answer is <n>".

Every rationale sentence has several paraphrases that differ in wording but mention the same numbers and
options in the same order. The SFT model picks its own wording when it answers, so a losing response
``y_l`` usually differs from the gold ``y_w`` in wording *and* in its mistakes, like a model output vs a
human rationale in the paper; the rule editor (``bmc.bridging.bridge``) can then repair only the mistakes.

All generation is deterministic given the seed. A ``type`` field names the template of each record, so
test sets can be defined as groups of types in the config.
"""

from __future__ import annotations

import random

from bmc.settings import TaskSizes  # noqa: F401  (re-exported)

# --------------------------------------------------------------------------------------------------
# The world the multiple-choice questions are about (also written into the pretraining corpus).

PEOPLE = [
    "Alice", "Bob", "Carol", "David", "Emma", "Frank", "Grace", "Henry", "Ivy", "Jack", "Kate", "Liam",
    "Mia", "Noah", "Olga", "Paul", "Quinn", "Rose", "Sam", "Tina", "Uma", "Victor", "Wendy", "Xavier",
    "Yara", "Zack", "Amir", "Bella", "Chen", "Dana", "Eli", "Fiona", "Gus", "Hana", "Igor", "Jade",
    "Karl", "Lena", "Marco", "Nina", "Omar", "Pia", "Raj", "Sara", "Tom", "Ursula", "Vera", "Will",
]

RELATIONS = {
    # relation: (question, statement paraphrases, values). Questions start with the person: a tiny model
    # copies a leading name far more reliably than one in the middle of a sentence.
    "city": (
        "{p} lives in which city?",
        ["{p} lives in {v}.", "{p} has a house in {v}.", "{p} is at home in {v}."],
        ["Paris", "Rome", "Oslo", "Cairo", "Lima", "Tokyo", "Delhi", "Berlin", "Madrid", "Dublin"],
    ),
    "job": (
        "{p} has which job?",
        ["{p} works as a {v}.", "{p} earns money as a {v}.", "{p} has a job as a {v}."],
        ["doctor", "teacher", "baker", "pilot", "farmer", "nurse", "painter", "driver", "singer", "judge"],
    ),
    "pet": (
        "{p} has which pet?",
        ["{p} has a {v} as a pet.", "{p} takes care of a pet {v}.", "{p} owns a {v}."],
        ["dog", "cat", "parrot", "rabbit", "turtle", "hamster", "goldfish", "pony"],
    ),
    "sport": (
        "{p} plays which sport?",
        ["{p} plays {v}.", "{p} likes to play {v}.", "{p} is good at {v}."],
        ["tennis", "soccer", "chess", "golf", "hockey", "rugby", "cricket", "boxing"],
    ),
}

CATEGORIES = {
    "fruit": ["apple", "banana", "cherry", "grape", "lemon", "mango", "peach", "plum"],
    "animal": ["horse", "tiger", "zebra", "camel", "wolf", "sheep", "eagle", "whale"],
    "vehicle": ["car", "bus", "train", "truck", "boat", "plane", "bicycle", "tram"],
    "tool": ["hammer", "saw", "wrench", "drill", "shovel", "ladder", "rake", "chisel"],
    "color": ["red", "blue", "green", "yellow", "purple", "orange", "brown", "pink"],
    "instrument": ["piano", "violin", "guitar", "drum", "flute", "trumpet", "harp", "cello"],
}

_CATEGORY_STATEMENTS = ["{v} is a kind of {c}.", "A {v} is a {c}.", "{v} belongs to the {c} group."]

# --------------------------------------------------------------------------------------------------
# Rationale paraphrases. Each list holds variants that mention the same slots in the same order.

# Context first, decision last: the rationale names what is asked before the chosen option, so the model
# decides with the question already restated.
_LARGEST = ["The largest number is {x}.", "Of these, the largest is {x}.", "The biggest one is {x}."]
_SMALLEST = ["The smallest number is {x}.", "Of these, the smallest is {x}.", "The lowest one is {x}."]
_CATEGORY_RATIONALE = ["Of these, the {c} is {x}.", "The {c} here is {x}.", "The one that is a {c} is {x}."]

OBJECTS = ["pencils", "apples", "books", "marbles", "stickers", "coins", "cards", "shells", "stamps", "cookies"]
_GAIN_VERBS = ["gets", "buys", "finds", "wins"]
_LOSS_VERBS = ["gives away", "loses", "sells", "uses"]
_START = ["{n} starts with {a} {o}.", "At first {n} has {a} {o}.", "{n} has {a} {o} at the start."]
_STEP = ["Then {a} {op} {b} = {c}.", "So {a} {op} {b} = {c}.", "Next, {a} {op} {b} = {c}.", "Now {a} {op} {b} = {c}."]

ANSWER_PREFIX = "The answer is "


def _say(rng: random.Random, variants: list[str], paraphrases: int | None) -> str:
    """One wording of a sentence: any of its variants, or one of the first ``paraphrases`` of them."""
    return rng.choice(variants if paraphrases is None else variants[:paraphrases])


def _mcq_problem(question: str, options: list[str]) -> str:
    return question + "\nOptions:\n" + "\n".join(options)


def _record(problem: str, lines: list[str], answer: str, kind: str) -> dict:
    return {"problem": problem, "solution": "\n".join(lines + [ANSWER_PREFIX + answer]),
            "answer": answer, "type": kind}


def _multiple_choice(rng: random.Random, kind: str, paraphrases: int | None = None) -> dict:
    if kind in ("largest", "smallest"):
        nums = rng.sample(range(1, 100), 4)
        x = max(nums) if kind == "largest" else min(nums)
        opts = [str(n) for n in nums]
        lines = [_say(rng, _LARGEST if kind == "largest" else _SMALLEST, paraphrases).format(x=x)]
        return _record(_mcq_problem(f"{kind.capitalize()}: which number is it?", opts), lines, str(x), kind)
    if kind == "category":
        cat = rng.choice(sorted(CATEGORIES))
        right = rng.choice(CATEGORIES[cat])
        others = [v for c, vs in CATEGORIES.items() if c != cat for v in vs]
        opts = rng.sample(others, 3) + [right]
        rng.shuffle(opts)
        lines = [_say(rng, _CATEGORY_RATIONALE, paraphrases).format(x=right, c=cat)]
        return _record(_mcq_problem(f"{cat.capitalize()}: which of these is one?", opts), lines, right, kind)
    if kind == "fact":
        rel = rng.choice(sorted(RELATIONS))
        question, statements, values = RELATIONS[rel]
        person = rng.choice(WORLD_PEOPLE)
        right = world_facts()[(person, rel)]
        opts = rng.sample([v for v in values if v != right], 3) + [right]
        rng.shuffle(opts)
        lines = [_say(rng, statements, paraphrases).format(p=person, v=right)]
        return _record(_mcq_problem(question.format(p=person), opts), lines, right, kind)
    raise ValueError(f"unknown multiple-choice type {kind!r}")


def _arithmetic(rng: random.Random, steps: int, max_operand: int, paraphrases: int | None = None) -> dict:
    name = rng.choice(PEOPLE)
    obj = rng.choice(OBJECTS)
    start = rng.randint(1, max_operand)
    sentences = [f"{name} has {start} {obj}."]
    lines = [_say(rng, _START, paraphrases).format(n=name, a=start, o=obj)]
    value = start
    for i in range(steps):
        gain = value < 2 or rng.random() < 0.5
        k = rng.randint(1, max_operand) if gain else rng.randint(1, value)
        verb = rng.choice(_GAIN_VERBS if gain else _LOSS_VERBS)
        more = " more" if gain else ""
        sentences.append(f"{'Then ' if i else ''}{name} {verb} {k}{more} {obj}.")
        new = value + k if gain else value - k
        lines.append(_say(rng, _STEP, paraphrases).format(a=value, op="+" if gain else "-", b=k, c=new))
        value = new
    sentences.append(f"How many {obj} does {name} have now?")
    return _record(" ".join(sentences), lines, str(value), f"{steps}-step")


# The people the world facts are about (arithmetic stories use all of PEOPLE).
WORLD_PEOPLE = PEOPLE[:24]


def world_facts() -> dict[tuple[str, str], str]:
    """The fixed world: every person has one value per relation (independent of any seed)."""
    rng = random.Random(1234)
    return {(p, rel): rng.choice(RELATIONS[rel][2]) for p in WORLD_PEOPLE for rel in sorted(RELATIONS)}


def generate_task(generator: str, sizes: TaskSizes, seed: int, types: list[str] | None = None,
                  max_operand: int | None = None, paraphrases: int | None = None) -> dict[str, list[dict]]:
    """Generate ``{"train": [...], "test": [...]}`` for one task; problems never repeat across splits.

    ``generator`` is ``multiple_choice`` (types: largest, smallest, category, fact) or ``arithmetic``
    (types: 1-step, 2-step, 3-step). Types are drawn uniformly from ``types``. ``max_operand`` (arithmetic,
    default 20) bounds the numbers a story adds or takes away; ``paraphrases`` keeps the first N wordings of
    each rationale sentence (default: all; 1 gives one fixed wording, so a model's answer can differ from the
    gold one only in content).
    """
    if paraphrases is not None and paraphrases < 1:
        raise ValueError(f"paraphrases must be at least 1, got {paraphrases}")
    if generator == "multiple_choice":
        types = types or ["largest", "smallest", "category", "fact"]
        make = lambda rng, kind: _multiple_choice(rng, kind, paraphrases)  # noqa: E731
    elif generator == "arithmetic":
        types = types or ["1-step", "2-step", "3-step"]
        operand = 20 if max_operand is None else max_operand
        make = lambda rng, kind: _arithmetic(rng, int(kind.split("-")[0]), operand, paraphrases)  # noqa: E731
    else:
        raise ValueError(f"unknown generator {generator!r} (expected multiple_choice or arithmetic)")
    rng = random.Random(seed)
    seen: set[str] = set()
    out: dict[str, list[dict]] = {}
    for split, n in (("test", sizes.test), ("train", sizes.train)):
        rows: list[dict] = []
        attempts = 0
        while len(rows) < n:
            attempts += 1
            if attempts > 50 * n + 1000:
                raise RuntimeError(f"{generator}: could not draw {n} distinct {split} problems")
            rec = make(rng, rng.choice(types))
            if rec["problem"] in seen:
                continue
            seen.add(rec["problem"])
            rows.append(rec)
        out[split] = rows
    return out


def pretraining_corpus(seed: int, n_lines: int, exclude_problems: set[str], max_operand: int = 20,
                       preamble_fraction: float = 0.0, preamble: str = "") -> list[str]:
    """Plain-text lines for pretraining the base model: world facts, category facts, comparisons over
    lists of numbers and items, equations and arithmetic stories. Never the instruction format, and never
    a test problem. A ``preamble_fraction`` of the lines start with ``preamble`` (the Alpaca preamble of
    the official eval prompts, which web-scale corpora contain and a from-scratch model would otherwise
    never have seen)."""
    rng = random.Random(seed)
    facts = sorted(world_facts().items())
    lines: list[str] = []
    while len(lines) < n_lines:
        r = rng.random()
        if r < 0.20:
            (p, rel), v = rng.choice(facts)
            line = rng.choice(RELATIONS[rel][1]).format(p=p, v=v)
        elif r < 0.28:
            c = rng.choice(sorted(CATEGORIES))
            line = rng.choice(_CATEGORY_STATEMENTS).format(v=rng.choice(CATEGORIES[c]), c=c)
        elif r < 0.34:
            c = rng.choice(sorted(CATEGORIES))
            items = rng.sample([v for k, vs in CATEGORIES.items() if k != c for v in vs], 3)
            items.insert(rng.randrange(4), right := rng.choice(CATEGORIES[c]))
            if rng.random() < 0.5:
                line = f"Among {', '.join(items[:3])} and {items[3]}, the {c} is {right}."
            else:
                line = "List:\n" + "\n".join(items) + f"\nIn this list, the {c} is {right}."
        elif r < 0.45:
            nums = rng.sample(range(1, 100), rng.randint(2, 5))
            kind, x = rng.choice([("largest", max(nums)), ("smallest", min(nums))])
            listed = ", ".join(map(str, nums[:-1])) + f" and {nums[-1]}"
            if rng.random() < 0.5:
                line = f"The {kind} of {listed} is {x}."
            else:
                line = "List:\n" + "\n".join(map(str, nums)) + f"\nIn this list, the {kind} is {x}."
        elif r < 0.60:
            # a quiz in prose (never the Instruction/Options format): the base model learns to answer
            # questions about the world, as a web corpus teaches a real base model
            rec = _multiple_choice(rng, rng.choice(["largest", "smallest", "category", "fact"]))
            if rec["problem"] in exclude_problems:
                continue
            question, opts = rec["problem"].split("\nOptions:\n")
            opts = opts.split("\n")
            line = f"{question} {', '.join(opts[:-1])} or {opts[-1]}? {rec['solution'].split(chr(10))[0]}"
        elif r < 0.72:
            a, b = rng.randint(0, 40), rng.randint(1, 20)
            line = f"{a} + {b} = {a + b}." if rng.random() < 0.5 or a < b else f"{a} - {b} = {a - b}."
        else:
            rec = _arithmetic(rng, rng.randint(1, 3), max_operand)
            if rec["problem"] in exclude_problems:
                continue
            line = rec["problem"] + " " + " ".join(rec["solution"].split("\n")) + "."
        if preamble and rng.random() < preamble_fraction:
            line = preamble + line
        lines.append(line)
    return lines

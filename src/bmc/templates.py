"""Prompt formats of the paper's code, verbatim.

* Training: the alignment-handbook chat template of the official Llama-2 QA/math configs,
  ``{bos}### Instruction:\\n{user}\\n\\n### Response:\\n{assistant}{eos}\\n\\n``.
* Evaluation (official ``eval/QA/*/eval.py`` and the math harness's ``platypus_fs``): the Alpaca
  preamble, which training never saw, then the same Instruction/Response layout. QA prompts end in
  "Let's think step by step.\\n"; math prompts end after "### Response:\\n".
"""

from __future__ import annotations

CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'user' %}"
    "{{ '### Instruction:\\n' + message['content'] + '\\n\\n### Response:\\n' }}"
    "{% elif message['role'] == 'assistant' %}"
    "{{ message['content'] + eos_token + '\\n\\n' }}"
    "{% else %}"
    "{{ raise_exception('only user and assistant roles are supported') }}"
    "{% endif %}"
    "{% endfor %}"
)

ALPACA_PREAMBLE = (
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
)

# Response prefix of the QA setup: the official QA SFT data put it at the start of every assistant turn,
# and the official QA eval prompt ends with it.
QA_RESPONSE_PREFIX = "Let's think step by step.\n"

# Official stop strings (plain substrings; vLLM stops before them).
QA_STOP = ["Question:", "Question", "USER:", "USER", "ASSISTANT:", "ASSISTANT", "Instruction:", "Instruction",
           "Response:", "Response", "Below"]
MATH_STOP = ["</s>", "Instruction", "Response"]

PROMPT_STYLES = ("qa", "math", "chat")  # chat: the SFT checkpoint's own template, open-ended (instruction following)


def response_prefix(style: str) -> str:
    """What the assistant turn starts with in training data of this prompt style."""
    _check_style(style)
    return QA_RESPONSE_PREFIX if style == "qa" else ""  # math and chat responses start right away


def eval_prompt(problem: str, style: str, preamble: bool = True) -> str:
    """The official zero-shot evaluation prompt. ``preamble=False`` drops the Alpaca preamble so the
    prompt matches the training template (a fidelity switch; the official code keeps it)."""
    _check_style(style)
    if style == "chat":
        raise ValueError("chat tasks have no zero-shot evaluation prompt: they are evaluated by the "
                         "instruction_following block's benchmarks, with the model's chat template")
    head = ALPACA_PREAMBLE if preamble else ""
    return f"{head}### Instruction:\n{problem}\n\n### Response:\n{response_prefix(style)}"


def stop_strings(style: str) -> list[str]:
    _check_style(style)
    if style == "chat":
        return []  # the chat template's end-of-turn token ends a response
    return list(QA_STOP if style == "qa" else MATH_STOP)


def truncate_at_stop(text: str, stops: list[str]) -> str:
    """Cut ``text`` before the first occurrence of any stop string, as vLLM's ``stop=`` does."""
    cut = len(text)
    for s in stops:
        i = text.find(s)
        if i != -1:
            cut = min(cut, i)
    return text[:cut]


def _check_style(style: str) -> None:
    if style not in PROMPT_STYLES:
        raise ValueError(f"unknown prompt style {style!r}; expected one of {PROMPT_STYLES}")

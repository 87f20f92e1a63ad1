"""The tiny study's tokenizer: exact round trips, one token form per word, prompt prefix property."""

from __future__ import annotations

import pytest

from bmc.templates import eval_prompt


@pytest.mark.parametrize("text", ["Options:\nchess\n12\nThe answer is 12", "  two  spaces\n\n### Response:\n",
                                  "Rose", "a\n b"])
def test_round_trip(tokenizer, text):
    assert tokenizer.decode(tokenizer(text)["input_ids"], skip_special_tokens=True) == text


def test_word_after_newline_equals_word_after_space(tokenizer):
    listed = tokenizer("Options:\nchess", add_special_tokens=False)["input_ids"]
    inline = tokenizer("good at chess", add_special_tokens=False)["input_ids"]
    assert listed[-1] == inline[-1]


def test_bos_is_added_once(tokenizer):
    ids = tokenizer("hello")["input_ids"]
    assert ids[0] == tokenizer.bos_token_id and ids.count(tokenizer.bos_token_id) == 1


def test_chat_prompt_is_a_prefix_of_prompt_and_response(tokenizer):
    user = [{"role": "user", "content": "Largest: which number is it?\nOptions:\n1\n2"}]
    prompt = tokenizer.apply_chat_template(user, tokenize=True, add_generation_prompt=True, return_dict=True)
    full = tokenizer.apply_chat_template(user + [{"role": "assistant", "content": "The answer is 2"}],
                                         tokenize=True, return_dict=True)
    assert full["input_ids"][:len(prompt["input_ids"])] == prompt["input_ids"]
    assert full["input_ids"][0] == tokenizer.bos_token_id
    assert full["input_ids"].count(tokenizer.eos_token_id) == 1
    upto_eos = full["input_ids"][:full["input_ids"].index(tokenizer.eos_token_id)]
    text = tokenizer.decode(upto_eos, skip_special_tokens=True)
    assert text == "### Instruction:\nLargest: which number is it?\nOptions:\n1\n2\n\n### Response:\nThe answer is 2"


def test_eval_prompt_is_official():
    assert eval_prompt("Q?", "qa") == ("Below is an instruction that describes a task. Write a response that "
                                       "appropriately completes the request.\n\n### Instruction:\nQ?\n\n"
                                       "### Response:\nLet's think step by step.\n")
    assert eval_prompt("Q?", "math", preamble=False) == "### Instruction:\nQ?\n\n### Response:\n"

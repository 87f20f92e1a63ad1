"""Difference masks: the official opcode rule, stopwords, prompt tokens, and alignment after collation."""

from __future__ import annotations

import torch

from bmc.training.masks import diff_masks, stopword_token_ids
from bmc.training.trainer import DataCollatorForBMCPreference


def test_opcode_rule_on_token_ids():
    prompt = [1, 2, 3]
    rejected = [10, 11, 12, 13, 14]  # 'a' side
    chosen = [10, 21, 12, 14, 15]    # 'b' side
    # difflib: equal 10 | replace 11->21 | equal 12 | delete 13 | equal 14 | insert 15
    chosen_mask, rejected_mask = diff_masks(prompt, chosen, rejected)
    assert rejected_mask == [0, 1, 0, 1, 0]  # replace + delete marked on the rejected side
    assert chosen_mask == [0, 1, 0, 0, 1]    # replace + insert marked on the chosen side


def test_identical_responses_mark_nothing():
    assert diff_masks([5, 6], [7, 8, 9], [7, 8, 9]) == ([0, 0, 0], [0, 0, 0])


def test_stopwords_are_never_marked():
    chosen_mask, rejected_mask = diff_masks([1], [30, 31], [40, 41], stopword_ids={31, 40})
    assert chosen_mask == [1, 0]
    assert rejected_mask == [0, 1]


def test_prompt_tokens_are_never_marked():
    # even a prompt that differs between the two sides (it cannot in practice) leaves no mark: the masks
    # cover completion tokens only, and have exactly their length
    chosen_mask, rejected_mask = diff_masks([1, 2, 3, 4], [9], [8, 8])
    assert len(chosen_mask) == 1 and len(rejected_mask) == 2


def test_official_stopword_rule_needs_single_tokens(tokenizer):
    long_word = "antidisestablishmentarianism"
    assert len(tokenizer.tokenize(long_word)) > 1
    ids = stopword_token_ids(tokenizer, ["the", long_word], "official")
    expected = {tokenizer.convert_tokens_to_ids(tokenizer.tokenize(f))[0] for f in ["the", "The"]
                if len(tokenizer.tokenize(f)) == 1}
    assert ids == expected and tokenizer("the", add_special_tokens=False)["input_ids"][0] in ids


def test_official_rule_capitalises_only_words_longer_than_one_letter(tokenizer):
    """dpo_bmc_trainer.py line 80: ``[w.capitalize() for w in stop_words if len(w) > 1]``: 'I' and 'A' are not
    stopwords although 'i' and 'a' are; 'The' is."""
    ids = stopword_token_ids(tokenizer, ["i", "a", "the"], "official")
    single = {w: tokenizer.tokenize(w) for w in ["i", "a", "I", "A", "The"]}
    assert all(len(t) == 1 for t in single.values()), single
    one = {w: tokenizer.convert_tokens_to_ids(t)[0] for w, t in single.items()}
    assert one["i"] in ids and one["a"] in ids and one["The"] in ids
    assert one["I"] not in ids and one["A"] not in ids


def test_robust_rule_adds_space_prefixed_forms(tokenizer):
    official = stopword_token_ids(tokenizer, ["the"], "official")
    robust = stopword_token_ids(tokenizer, ["the"], "robust")
    assert official <= robust


def test_mid_sentence_stopwords_share_the_word_token(tokenizer):
    # the tiny study's tokenizer prepends a space (like Llama-2's SentencePiece), so the official
    # single-token rule also catches stopwords in the middle of a sentence
    the = tokenizer("the", add_special_tokens=False)["input_ids"]
    sentence = tokenizer("Of these, the largest is 45.", add_special_tokens=False)["input_ids"]
    assert the[0] in sentence


def test_collated_mask_aligns_with_completion_mask_after_padding_and_truncation():
    examples = [
        {"prompt_ids": [1, 2, 3], "chosen_ids": [4, 5, 6, 7], "rejected_ids": [4, 8],
         "chosen_bmc_mask": [0, 1, 1, 0], "rejected_bmc_mask": [0, 1]},
        {"prompt_ids": [1, 2], "chosen_ids": [9], "rejected_ids": [9, 10, 11, 12, 13],
         "chosen_bmc_mask": [1], "rejected_bmc_mask": [0, 1, 0, 1, 1]},
    ]
    collator = DataCollatorForBMCPreference(pad_token_id=0, max_length=6, pad_to_multiple_of=4,
                                            bmc_mask_scope="per_pair")
    batch = collator(examples)
    mask, completion = batch["bmc_mask"], batch["completion_mask"]
    assert mask.shape == completion.shape == batch["input_ids"].shape
    assert mask.shape[1] == 8  # truncated to 6, padded to a multiple of 4
    assert torch.all(mask <= completion)  # never on prompt or padding tokens
    # row order: chosen of each example, then rejected of each example
    assert mask[0].tolist() == [0, 0, 0, 0, 1, 1, 0, 0]   # prompt 3 + [0,1,1] (4th token truncated) + pad
    assert mask[1].tolist() == [0, 0, 1, 0, 0, 0, 0, 0]
    assert mask[2].tolist() == [0, 0, 0, 0, 1, 0, 0, 0]
    assert mask[3].tolist() == [0, 0, 0, 1, 0, 1, 0, 0]   # prompt 2 + [0,1,0,1] (last truncated)
    # each marked position holds the token the mask was computed for
    assert batch["input_ids"][0, 4].item() == 5 and batch["input_ids"][3, 5].item() == 12


def test_levenshtein_alignment_can_mark_fewer_tokens_than_difflib():
    from bmc.training.masks import mark_differences

    # difflib anchors on the longest common block ([4, 2]); a minimum edit script changes 3 tokens, not 5
    a, b = [4, 4, 4, 2], [4, 2, 4, 2, 1]
    assert mark_differences(a, b, "difflib") == ([1, 1, 0, 0], [0, 0, 1, 1, 1])
    assert mark_differences(a, b, "levenshtein") == ([0, 1, 0, 0], [0, 1, 0, 0, 1])


def test_per_pair_and_per_batch_masks_differ_on_few_tokens():
    """The per-pair masks (unpadded) vs the official per-batch masks (padded rows, difflib's autojunk on rows of
    200+ tokens), which the default collator computes: measured on long synthetic pairs with Zipf-distributed
    tokens (tests/test_official_bmc.py measures it against the official trainer itself)."""
    import random

    from bmc.training.masks import batch_masks

    rng = random.Random(0)
    vocab = list(range(3, 2000))
    zipf = [1 / (i + 1) for i in range(len(vocab))]
    differing = total = 0
    for batch in range(10):
        examples = []
        for _ in range(4):
            prompt = rng.choices(vocab, zipf, k=rng.randint(64, 400))
            chosen = rng.choices(vocab, zipf, k=rng.randint(150, 500))
            rejected = [rng.choice(vocab) if rng.random() < rng.uniform(0.05, 0.2) else t for t in chosen]
            examples.append({"prompt_ids": prompt, "chosen_ids": chosen, "rejected_ids": rejected,
                             **dict(zip(("chosen_bmc_mask", "rejected_bmc_mask"), diff_masks(prompt, chosen, rejected)))})
        batch_out = DataCollatorForBMCPreference(pad_token_id=0, bmc_mask_scope="per_pair")(examples)
        official = batch_masks(batch_out["input_ids"], batch_out["completion_mask"], set())
        default = DataCollatorForBMCPreference(pad_token_id=0)(examples)  # per_batch: the official marks
        assert torch.equal(default["bmc_mask"], official) and torch.equal(default["input_ids"], batch_out["input_ids"])
        differing += (official != batch_out["bmc_mask"]).sum().item()
        total += batch_out["completion_mask"].sum().item()
    fraction = differing / total
    print(f"per-pair vs per-batch masks: {differing} of {total} completion tokens differ ({100 * fraction:.3f}%)")
    assert fraction < 0.01


def _byte_level_tokenizer():
    """A GPT-2/Llama-3 style tokenizer: byte-level BPE, the space attached to the next word (``Ġthe``)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    text = ["I think the cat is on a mat and it is not the dog.", "A dog and the cat. The end is here."] * 50
    tk.train_from_iterator(text, trainers.BpeTrainer(vocab_size=300, special_tokens=["<pad>"],
                                                     initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                     show_progress=False))
    return PreTrainedTokenizerFast(tokenizer_object=tk, pad_token="<pad>")


def test_stopword_rules_on_a_byte_level_tokenizer():
    """On byte-level BPE the official rule yields the bare words' ids ('the'), which mid-sentence words ('Ġthe')
    never use; robust adds the space-prefixed ids. The official ids equal the official expression's."""
    tok = _byte_level_tokenizer()
    words = ["the", "a", "i", "is", "and"]
    forms = set(words) | {w.capitalize() for w in words if len(w) > 1}
    official_expression = {tok.convert_tokens_to_ids(tok.tokenize(w))[0] for w in forms if len(tok.tokenize(w)) == 1}
    assert stopword_token_ids(tok, words, "official") == official_expression
    mid = tok("on the mat", add_special_tokens=False)["input_ids"][1]
    assert tok.convert_ids_to_tokens(mid) == "Ġthe"
    assert mid not in stopword_token_ids(tok, words, "official")
    assert mid in stopword_token_ids(tok, words, "robust")
    assert tok.convert_tokens_to_ids("ĠI") not in stopword_token_ids(tok, words, "robust")  # 'I' is not capitalised

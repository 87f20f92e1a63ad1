"""A byte-level BPE tokenizer trained offline on the tiny study's own text (a stand-in for the paper's
base-model tokenizers; no counterpart in the official code).

Llama-style special tokens: ``<s>`` (BOS, prepended when encoding, as Llama tokenizers do), ``</s>``
(EOS), ``<pad>``. The paper's chat template is stored on the tokenizer, so every later stage (TRL's
SFT and DPO trainers, generation) renders prompts the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from bmc.io import atomic_dir
from bmc.templates import CHAT_TEMPLATE

BOS, EOS, PAD = "<s>", "</s>", "<pad>"


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE())
    # Like Llama-2's SentencePiece normaliser, a space is prepended to the text, so its first word is the
    # same token as mid-sentence; and a word that follows a newline (an option in an option list) gets a
    # space too. Byte-level BPE would otherwise give "chess" after "\n" and " chess" unrelated ids, a
    # correspondence a million-parameter model cannot learn in minutes. The decoder undoes both exactly:
    # every newline followed by anything but a newline gets one space, and decoding removes one.
    tok.normalizer = normalizers.Sequence([
        normalizers.Replace(Regex(r"\n(?=[^\n])"), "\n "),
        normalizers.Prepend(" "),
    ])
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.Sequence([
        decoders.ByteLevel(),
        decoders.Replace("\n ", "\n"),
        decoders.Strip(" ", 1, 0),
    ])
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, BOS, EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos_id)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD, padding_side="left",
        model_max_length=512,
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def save_tokenizer(tokenizer: PreTrainedTokenizerFast, out_dir: str | Path) -> None:
    with atomic_dir(out_dir) as tmp:
        tokenizer.save_pretrained(tmp)

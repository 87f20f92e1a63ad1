"""Text generation behind one interface.

:class:`TransformersGenerator` runs batched ``generate`` on CPU or GPU: prompts sorted by length (so a
batch carries little padding), left-padded, stop strings applied afterwards exactly as vLLM applies its
``stop=`` list. A vLLM engine for GPUs plugs in behind the same ``generate`` signature (later issue).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import AutoModelForCausalLM, AutoTokenizer

from bmc.templates import truncate_at_stop

log = logging.getLogger(__name__)


@dataclass
class DecodingSettings:
    max_new_tokens: int = 64
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    num_samples: int = 1
    seed: int = 0


class TransformersGenerator:
    def __init__(self, model_dir: str | Path, batch_size: int = 64, device: str | None = None):
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.tokenizer.padding_side = "left"
        self.model = AutoModelForCausalLM.from_pretrained(model_dir).to(self.device).eval()
        self.batch_size = batch_size

    @torch.inference_mode()
    def generate(self, prompts: list[str], settings: DecodingSettings, stop: list[str] | None = None,
                 desc: str = "generate", on_result=None) -> list[list[str]]:
        """Return ``num_samples`` completions per prompt, in prompt order. ``on_result(index, completions)``,
        if given, is called for each prompt as soon as its batch is done."""
        stop = stop or []
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        out: list[list[str] | None] = [None] * len(prompts)
        sampling = settings.temperature > 0
        gen_kwargs = dict(
            max_new_tokens=settings.max_new_tokens,
            do_sample=sampling,
            num_return_sequences=settings.num_samples,
            pad_token_id=self.tokenizer.pad_token_id,
            eos_token_id=self.tokenizer.eos_token_id,
        )
        if sampling:
            gen_kwargs.update(temperature=settings.temperature, top_p=settings.top_p, top_k=0)
        elif settings.num_samples != 1:
            raise ValueError("greedy decoding (temperature 0) gives one sample per prompt")
        torch.manual_seed(settings.seed)
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        for idx in tqdm(batches, desc=desc, unit="batch", mininterval=5):
            enc = self.tokenizer([prompts[i] for i in idx], return_tensors="pt", padding=True).to(self.device)
            ids = self.model.generate(**enc, **gen_kwargs)
            k = settings.num_samples
            for j, i in enumerate(idx):
                out[i] = [truncate_at_stop(self._completion(prompts[i], seq), stop)
                          for seq in ids[j * k:(j + 1) * k]]
                if on_result is not None:
                    on_result(i, out[i])
        return out  # type: ignore[return-value]

    def _completion(self, prompt: str, ids: torch.Tensor) -> str:
        """The text after ``prompt``. The whole sequence is decoded and the prompt cut off, so tokenizers whose
        decoding depends on context (a dummy prefix space, a space after a newline) give exact text."""
        text = self.tokenizer.decode(ids, skip_special_tokens=True)
        prompt_text = self.tokenizer.decode(self.tokenizer(prompt)["input_ids"], skip_special_tokens=True)
        if not text.startswith(prompt_text):
            raise RuntimeError(f"decoded sequence does not start with its prompt: {prompt_text[-80:]!r}")
        return text[len(prompt_text):]

"""transformers ``generate`` as an editor backend (CPU or GPU) for the paper's Bridging phase (§3.1), batched
through :class:`bmc.models.generation.TransformersGenerator`; responses are reported batch by batch."""

from __future__ import annotations

from collections.abc import Callable

from bmc.bridging.editors import Usage
from bmc.bridging.editors.prompted import Completion, EditorDecoding
from bmc.models.generation import DecodingSettings, TransformersGenerator
from bmc.settings import TransformersSettings


class TransformersBackend:
    kind = "transformers"

    def __init__(self, settings: TransformersSettings):
        self.settings = settings
        self.model = settings.model
        self._generator = None

    @property
    def generator(self) -> TransformersGenerator:
        if self._generator is None:
            self._generator = TransformersGenerator(self.settings.model, batch_size=self.settings.batch_size)
        return self._generator

    def format(self, prompt: str) -> str:
        tok = self.generator.tokenizer
        if not (self.settings.chat_template and tok.chat_template):
            return prompt
        text = tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False,
                                       add_generation_prompt=True)
        return text[len(tok.bos_token):] if tok.bos_token and text.startswith(tok.bos_token) else text

    def complete(self, prompts: list[str], decoding: EditorDecoding,
                 on_done: Callable[[int, Completion], None]) -> None:
        tok = self.generator.tokenizer
        formatted = [self.format(p) for p in prompts]
        settings = DecodingSettings(max_new_tokens=decoding.max_tokens, temperature=decoding.temperature,
                                    top_p=decoding.top_p, num_samples=1, seed=decoding.seed or 0)

        def report(i: int, outs: list[str]) -> None:
            usage = Usage(len(tok(formatted[i])["input_ids"]), len(tok(outs[0], add_special_tokens=False)["input_ids"]))
            on_done(i, Completion(outs[0], usage))

        self.generator.generate(formatted, settings, desc="editor", on_result=report)

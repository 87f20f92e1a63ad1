"""Offline vLLM as an editor backend (GPUs) for the paper's Bridging phase (§3.1): one batched ``LLM.chat`` call
over all pending prompts.

vLLM is imported only when this editor is used (:func:`bmc.models.generation.import_vllm`), so nothing else needs it.
"""

from __future__ import annotations

from collections.abc import Callable

from bmc.bridging.editors import Usage
from bmc.bridging.editors.prompted import Completion, EditorDecoding
from bmc.models.generation import VLLMSettings, import_vllm, vllm_engine


class VLLMBackend:
    kind = "vllm"

    def __init__(self, settings: VLLMSettings):
        self.settings = settings
        self.model = settings.model
        self._llm = None

    def _engine(self):
        if self._llm is None:
            self._llm = vllm_engine(self.settings)
        return self._llm

    def complete(self, prompts: list[str], decoding: EditorDecoding,
                 on_done: Callable[[int, Completion], None]) -> None:
        llm = self._engine()
        params = import_vllm().SamplingParams(temperature=decoding.temperature, top_p=decoding.top_p,
                                          max_tokens=decoding.max_tokens, seed=decoding.seed)
        conversations = [[{"role": "user", "content": p}] for p in prompts]
        outputs = llm.chat(conversations, params, use_tqdm=True)
        for i, out in enumerate(outputs):
            gen = out.outputs[0]
            on_done(i, Completion(gen.text, Usage(len(out.prompt_token_ids or []), len(gen.token_ids or []))))

"""Offline vLLM as an editor backend (GPUs): one batched ``LLM.chat`` call over all pending prompts.

vLLM is imported only here, when this editor is used, so nothing else needs it installed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bmc.editors import Usage
from bmc.editors.prompted import Completion, EditorDecoding


def _vllm():
    try:
        import vllm
    except ImportError as e:
        raise ImportError("the vllm editor needs vLLM (GPU machines): `pip install vllm`") from e
    return vllm


@dataclass
class VLLMSettings:
    model: str
    tensor_parallel_size: int = 1
    dtype: str = "auto"
    max_model_len: int | None = None
    gpu_memory_utilization: float = 0.9


class VLLMBackend:
    kind = "vllm"

    def __init__(self, settings: VLLMSettings):
        self.settings = settings
        self.model = settings.model
        self._llm = None

    def _engine(self):
        if self._llm is None:
            s = self.settings
            kwargs = {"model": s.model, "tensor_parallel_size": s.tensor_parallel_size, "dtype": s.dtype,
                      "gpu_memory_utilization": s.gpu_memory_utilization}
            if s.max_model_len:
                kwargs["max_model_len"] = s.max_model_len
            self._llm = _vllm().LLM(**kwargs)
        return self._llm

    def complete(self, prompts: list[str], decoding: EditorDecoding,
                 on_done: Callable[[int, Completion], None]) -> None:
        llm = self._engine()
        params = _vllm().SamplingParams(temperature=decoding.temperature, top_p=decoding.top_p,
                                max_tokens=decoding.max_tokens, seed=decoding.seed)
        conversations = [[{"role": "user", "content": p}] for p in prompts]
        outputs = llm.chat(conversations, params, use_tqdm=True)
        for i, out in enumerate(outputs):
            gen = out.outputs[0]
            on_done(i, Completion(gen.text, Usage(len(out.prompt_token_ids or []), len(gen.token_ids or []))))

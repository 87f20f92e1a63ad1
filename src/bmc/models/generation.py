"""Text generation behind one interface (as the official code generates with vLLM; here vLLM or transformers):
``generate(prompts, settings, stop, desc, on_result)`` returns ``num_samples`` completions per prompt, in prompt
order.

- :class:`TransformersGenerator` (CPU or GPU): batched ``generate``, prompts sorted by length (so a batch
  carries little padding), left-padded; stop strings applied afterwards exactly as vLLM applies ``stop=``.
  Greedy outputs equal one-prompt-at-a-time outputs (tested).
- :class:`VLLMGenerator` (GPUs): one batched ``LLM.generate`` call for all prompts; vLLM is imported only
  when it is used.
- :class:`ResumableGenerator` wraps either: each prompt's completions are appended to a crash-safe JSONL
  file (:class:`bmc.cache.ResponseCache`) the moment they are done, keyed by the model's
  fingerprint, the decoding settings, the stop strings and the prompt; a rerun after a crash generates only
  what is missing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import AutoModelForCausalLM, AutoTokenizer

from bmc.settings import DecodingSettings, VLLMSettings
from bmc.templates import truncate_at_stop

log = logging.getLogger(__name__)


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
            eos_token_id=[self.tokenizer.eos_token_id, *settings.stop_token_ids] if settings.stop_token_ids
            else self.tokenizer.eos_token_id,
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


# ------------------------------------------------------------------------------------------------ vLLM
def import_vllm():
    try:
        import vllm
    except ImportError as e:
        raise ImportError("the vllm engine needs vLLM (GPU machines): `pip install vllm`, or use "
                          "engine: transformers") from e
    return vllm


def vllm_engine(settings: VLLMSettings):
    kwargs = {"model": settings.model, "tensor_parallel_size": settings.tensor_parallel_size,
              "dtype": settings.dtype, "gpu_memory_utilization": settings.gpu_memory_utilization}
    if settings.max_model_len:
        kwargs["max_model_len"] = settings.max_model_len
    return import_vllm().LLM(**kwargs)


class VLLMGenerator:
    """One batched ``LLM.generate`` over all prompts (vLLM schedules the batches itself)."""

    def __init__(self, settings: VLLMSettings):
        self.settings = settings
        self._llm = None

    def generate(self, prompts: list[str], settings: DecodingSettings, stop: list[str] | None = None,
                 desc: str = "generate", on_result=None) -> list[list[str]]:
        if self._llm is None:
            self._llm = vllm_engine(self.settings)
        if settings.temperature == 0 and settings.num_samples != 1:
            raise ValueError("greedy decoding (temperature 0) gives one sample per prompt")
        extra = {"stop_token_ids": list(settings.stop_token_ids)} if settings.stop_token_ids else {}
        params = import_vllm().SamplingParams(
            n=settings.num_samples, temperature=settings.temperature, top_p=settings.top_p,
            max_tokens=settings.max_new_tokens, stop=list(stop or []), seed=settings.seed, **extra)
        outputs = self._llm.generate(prompts, params, use_tqdm=True)
        out = []
        for i, o in enumerate(outputs):
            texts = [c.text for c in o.outputs]
            out.append(texts)
            if on_result is not None:
                on_result(i, texts)
        return out


def make_generator(engine: str, model_dir: str | Path, batch_size: int = 64, tensor_parallel_size: int = 1):
    """``engine``: ``transformers``, ``vllm``, or ``auto`` (vLLM where CUDA and vLLM are both available)."""
    if engine == "auto":
        import importlib.util

        engine = "vllm" if torch.cuda.is_available() and importlib.util.find_spec("vllm") else "transformers"
    if engine == "vllm":
        return VLLMGenerator(VLLMSettings(str(model_dir), tensor_parallel_size=tensor_parallel_size))
    if engine == "transformers":
        return TransformersGenerator(model_dir, batch_size=batch_size)
    raise ValueError(f"unknown generation engine {engine!r}: expected auto, transformers or vllm")


# ------------------------------------------------------------------------------------------ resuming
def model_fingerprint(model_dir: str | Path) -> str:
    """Name, size and modification time of every file of a model folder (cheap for a 14 GB model, and a
    retrained model in the same folder gets another fingerprint)."""
    root = Path(model_dir)
    if not root.is_dir():  # a hub id: its name is all we know
        return str(model_dir)
    files = sorted((str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns)
                   for p in root.rglob("*") if p.is_file())
    return hashlib.sha256(json.dumps(files).encode()).hexdigest()


class ResumableGenerator:
    """Wraps a generator; per-prompt results are kept in ``cache_path`` as they arrive, and a rerun
    generates only the prompts the file does not have. ``resumed`` counts the prompts answered from it."""

    def __init__(self, inner, cache_path: str | Path, model_dir: str | Path):
        from bmc.cache import ResponseCache

        self.inner = inner
        self.cache = ResponseCache(cache_path)
        self.model = model_fingerprint(model_dir)
        self.resumed = 0

    def _key(self, prompt: str, settings: DecodingSettings, stop: list[str]) -> str:
        payload = json.dumps([self.model, asdict(settings), stop, prompt], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()

    def generate(self, prompts: list[str], settings: DecodingSettings, stop: list[str] | None = None,
                 desc: str = "generate", on_result=None) -> list[list[str]]:
        stop = list(stop or [])
        keys = [self._key(p, settings, stop) for p in prompts]
        out: list[list[str] | None] = [(self.cache.get(k) or {}).get("completions") for k in keys]
        missing = [i for i, o in enumerate(out) if o is None]
        self.resumed = len(prompts) - len(missing)
        if self.resumed:
            log.info("%s: %d of %d prompts already generated (resumed)", desc, self.resumed, len(prompts))

        def done(j, completions):
            i = missing[j]
            self.cache.put(keys[i], {"completions": completions})
            out[i] = completions
            if on_result is not None:
                on_result(i, completions)

        if missing:
            self.inner.generate([prompts[i] for i in missing], settings, stop=stop, desc=desc, on_result=done)
        return out  # type: ignore[return-value]

    def finish(self) -> None:
        """Remove the file once its job's outputs are written."""
        self.cache.path.unlink(missing_ok=True)
        Path(str(self.cache.path) + ".lock").unlink(missing_ok=True)

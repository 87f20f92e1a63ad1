"""Build the editor a study config names (the paper's Bridging phase, §3.1, and Table 3's editors):
``editors.<name>`` gives its kind and options."""

from __future__ import annotations

from pathlib import Path

from bmc.bridging.editors.prompted import EditorDecoding, PromptEditor, PromptTemplate
from bmc.cache import ResponseCache

KINDS = ("rule", "openai", "vllm", "transformers")


def make_editor(spec: dict, template_path: str | Path | None = None, decoding: dict | None = None,
                cache_path: str | Path | None = None):
    """``spec`` is an ``editors.<name>`` block: ``{"kind": ..., <options of that kind>}``."""
    spec = dict(spec)
    kind = spec.pop("kind", None)
    spec.pop("price_usd_per_million_tokens", None)  # read by the cost table only
    if kind == "rule":
        from bmc.bridging.editors.rule import RuleEditor

        return RuleEditor()
    if kind == "openai":
        from bmc.bridging.editors.openai_http import OpenAIBackend, OpenAISettings

        backend = OpenAIBackend(OpenAISettings(**spec))
    elif kind == "vllm":
        from bmc.bridging.editors.vllm_backend import VLLMBackend, VLLMSettings

        backend = VLLMBackend(VLLMSettings(**spec))
    elif kind == "transformers":
        from bmc.bridging.editors.hf_backend import TransformersBackend, TransformersSettings

        backend = TransformersBackend(TransformersSettings(**spec))
    else:
        raise ValueError(f"unknown editor kind {kind!r}; expected one of {KINDS}")
    if template_path is None:
        raise ValueError(f"the {kind} editor needs a prompt template")
    cache = ResponseCache(cache_path) if cache_path else None
    return PromptEditor(backend, PromptTemplate.from_file(template_path), EditorDecoding(**(decoding or {})), cache)

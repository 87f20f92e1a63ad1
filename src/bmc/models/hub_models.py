"""Models from the Hugging Face Hub as workflow files: the paper study's base model (Llama-2-7B) and the public
SFT checkpoints its instruction-following setups start from (Llama-3-Base-8B-SFT, zephyr-7b-sft-full).

:func:`fetch_model` makes ``out_dir`` a model directory every stage loads with ``from_pretrained``: the weight
and config files are symbolic links into the Hugging Face cache (a 7B model is not copied per study), the
tokenizer is saved into the directory (it may carry the study's chat template and a pad token the hub model
lacks), and ``hub_source.json`` records what was fetched (repository, the commit the revision resolved to,
files). Offline (the default) the snapshot must already be in the cache; ``download=True`` fetches it (the rule
that calls this is a local rule, so on a cluster it runs on the host with the network).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

from bmc.io import atomic_dir

# What a model directory needs: weights (safetensors preferred; the .bin files only where a repository has no
# safetensors), configs, tokenizer files. Other files (README, original/ consolidated checkpoints, ...) stay.
MODEL_PATTERNS = ("*.json", "*.safetensors", "tokenizer.model", "*.tiktoken", "*.txt")
BIN_PATTERNS = ("*.bin",)
SOURCE_FILE = "hub_source.json"


def snapshot(repo_id: str, revision: str | None, download: bool, patterns: Sequence[str] = MODEL_PATTERNS,
             cache_dir: str | Path | None = None) -> Path:
    """The local snapshot folder of ``repo_id`` at ``revision`` (a branch, tag or commit; None: main) in the
    Hugging Face cache (``cache_dir``; None: the default, ``HF_HUB_CACHE``)."""
    from huggingface_hub import snapshot_download

    try:
        path = snapshot_download(repo_id, revision=revision, allow_patterns=list(patterns),
                                 local_files_only=not download, cache_dir=cache_dir)
    except Exception as e:  # offline without the snapshot in the cache, a gated model without a token, ...
        how = ("could not download it" if download else
               "it is not in the Hugging Face cache and downloads are off (set the model's `download: true`, or "
               "run `huggingface-cli download` first)")
        raise RuntimeError(f"hub model {repo_id}@{revision or 'main'}: {how} ({type(e).__name__}: {e})") from e
    return Path(path)


def fetch_model(repo_id: str, out_dir: str | Path, revision: str | None = None, download: bool = False,
                chat_template: str | None = None, pad_token: str | None = None,
                cache_dir: str | Path | None = None) -> dict:
    """Make ``out_dir`` a model directory of ``repo_id`` (see the module docstring). ``chat_template``: set on the
    tokenizer (the study's training template; None keeps the model's own). ``pad_token``: used when the tokenizer
    has none (None: its EOS). Returns the provenance written to ``hub_source.json``."""
    from transformers import AutoTokenizer

    snap = snapshot(repo_id, revision, download, cache_dir=cache_dir)
    if not any(snap.glob("*.safetensors")):
        snap = snapshot(repo_id, revision, download, MODEL_PATTERNS + BIN_PATTERNS, cache_dir)
    if not (snap / "config.json").is_file():
        raise RuntimeError(f"hub model {repo_id}@{revision or 'main'}: no config.json in {snap}")
    tokenizer = AutoTokenizer.from_pretrained(snap)
    changed = {}
    if chat_template is not None and tokenizer.chat_template != chat_template:
        tokenizer.chat_template = chat_template
        changed["chat_template"] = "the study's"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = pad_token or tokenizer.eos_token
        changed["pad_token"] = tokenizer.pad_token
    with atomic_dir(out_dir) as tmp:
        tokenizer.save_pretrained(tmp)  # first: the tokenizer files it writes are never links into the cache
        linked = sorted(p.name for p in snap.iterdir() if p.is_file() and not (tmp / p.name).exists())
        for name in linked:
            os.symlink(os.path.realpath(snap / name), tmp / name)
        source = {"repo_id": repo_id, "revision": revision, "commit": snap.name, "snapshot": str(snap),
                  "linked_files": linked, "tokenizer": changed or "unchanged"}
        (tmp / SOURCE_FILE).write_text(json.dumps(source, indent=2) + "\n", encoding="utf-8")
    return source

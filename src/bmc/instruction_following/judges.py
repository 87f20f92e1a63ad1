"""The LLM judges of Table 2 (paper Table 2; official judging with ``alpaca_eval`` and
``arena-hard-auto``), what both share: the configurable OpenAI-compatible endpoint, its secrets and pre-flight.
AlpacaEval 2 (length-controlled win rate against GPT-4 Turbo) is in
:mod:`bmc.instruction_following.alpaca_eval`, Arena-Hard v0.1 (win rate against GPT-4-0314 with a bootstrapped
95% CI) in :mod:`bmc.instruction_following.arena_hard`, each called through its own tool.

Secrets. The API key is read from the environment variable the config names (never from a file) and
handed to the tools through the environment of the judging process only: alpaca_eval's client config file
(``OPENAI_CLIENT_CONFIG_PATH`` format) and arena-hard-auto's ``api_config.yaml`` are written *without* a key,
and the ``openai`` client both tools create reads ``OPENAI_API_KEY`` (and, for arena-hard-auto,
``OPENAI_BASE_URL``) from that environment. No key reaches a results file, a cache or a log (checked in the
tests), and error messages never quote it.

Caches (a rerun does not pay twice):

* alpaca_eval keeps every annotation in ``annotations_seed0_configs.json`` beside the annotator config this
  module writes (``<cache>/<annotator>/configs.yaml``); an annotation is keyed by the instruction and both
  outputs, so changed outputs are judged again and unchanged ones are not.
* arena-hard-auto's ``gen_judgment.py`` appends one judgment per question and skips questions already
  judged; its working folder (questions, answers, configs, judgments) is kept under the cache. Judgments
  are kept only while the answers, the judge model, the baseline and the tool's commit are the ones they
  were made for (``judged_for.json``); otherwise they are removed first (logged), never reused.

Pre-flight: :func:`preflight` fails with one message naming the variable (key unset) or the endpoint
(unreachable, or the key refused) before anything is judged.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

log = logging.getLogger(__name__)

PLACEHOLDER_KEY = "no-key"  # what the openai client gets for an endpoint that needs no key (a local server)


class JudgeError(RuntimeError):
    """A judge cannot run: no key, endpoint unreachable, tool missing, inputs that do not match."""


@dataclass
class JudgeEndpoint:
    """An OpenAI-compatible chat-completions endpoint (config ``instruction_following.judge``: base_url, api_key_env)."""

    base_url: str = "https://api.openai.com/v1"
    api_key_env: str | None = "OPENAI_API_KEY"  # None: the endpoint needs no key
    timeout_s: float = 20.0  # for the pre-flight request

    def api_key(self, environ: dict | None = None) -> str | None:
        environ = os.environ if environ is None else environ
        if not self.api_key_env:
            return None
        key = environ.get(self.api_key_env)
        if not key:
            raise JudgeError(f"the judge endpoint {self.base_url} needs an API key in the environment variable "
                             f"{self.api_key_env}, which is not set")
        return key


def missing_key(endpoint: JudgeEndpoint, environ: dict | None = None) -> str | None:
    """Why the judges cannot run for lack of a key (a sentence naming the variable), or None."""
    try:
        endpoint.api_key(environ)
    except JudgeError as e:
        return str(e)
    return None


def preflight(endpoint: JudgeEndpoint, what: str = "judge") -> None:
    """Fail with one clear message if the key is unset, the endpoint cannot be reached, or it refuses the key.
    A ``GET <base_url>/models`` is the probe; any answer other than 401/403 counts as reachable (some
    OpenAI-compatible servers have no ``/models``)."""
    key = endpoint.api_key()
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    url = endpoint.base_url.rstrip("/") + "/models"
    try:
        r = requests.get(url, headers=headers, timeout=endpoint.timeout_s)
    except requests.RequestException as e:
        raise JudgeError(f"{what}: the judge endpoint {endpoint.base_url} is unreachable ({type(e).__name__}); the "
                         "judge rules need the network and a reachable endpoint (instruction_following.judge."
                         "base_url)") from None
    if r.status_code in (401, 403):
        fix = (f"check the key in ${endpoint.api_key_env}" if endpoint.api_key_env else
               "it wants an API key: set instruction_following.judge.api_key_env")
        raise JudgeError(f"{what}: the judge endpoint {endpoint.base_url} refused the request (HTTP "
                         f"{r.status_code}): {fix}")


@contextlib.contextmanager
def openai_environment(endpoint: JudgeEndpoint, base_url_var: bool = False):
    """The key (and optionally the base URL) in this process's environment, where the ``openai`` client reads
    them, for the duration of the block only."""
    values = {"OPENAI_API_KEY": endpoint.api_key() or PLACEHOLDER_KEY}
    if base_url_var:
        values["OPENAI_BASE_URL"] = endpoint.base_url
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def fingerprint(*parts: Any) -> str:
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, Path):
            h.update(p.read_bytes())
        else:
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()


def _finite(x) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) or math.isinf(x) else x

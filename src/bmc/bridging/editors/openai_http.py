"""An OpenAI-compatible chat-completions endpoint as an editor backend: the paper's editor (GPT-4 in the
Bridging phase, §3.1) or any other served model.

OpenAI itself, or a vLLM/SGLang server on the cluster (``base_url`` and ``model`` from the config). The API
key is read from the environment variable the config names (never from a file) and never appears in a log,
a cache entry, a stats file or an exception message. Requests run concurrently up to a limit; 429, 5xx,
timeouts, dropped connections and malformed response bodies are retried with exponential backoff (a
``Retry-After`` header is honoured); 401/403/404 and other 4xx fail at once with a message naming the
endpoint and the model. When a request fails for good, the others are cancelled; every response that did
arrive is already in the cache.
"""

from __future__ import annotations

import logging
import os
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt
from tqdm.auto import tqdm

from bmc.bridging.editors import EditorError, Usage
from bmc.bridging.editors.prompted import Completion, EditorDecoding
from bmc.settings import OpenAISettings

log = logging.getLogger(__name__)


class _Cancelled(Exception):
    """Another request failed for good; this one was not sent."""


class TransientError(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class OpenAIBackend:
    kind = "openai"

    def __init__(self, settings: OpenAISettings):
        self.settings = settings
        self.model = settings.model
        self.endpoint = settings.base_url.rstrip("/") + "/chat/completions"
        self._key = None
        if settings.api_key_env:
            self._key = os.environ.get(settings.api_key_env)
            if not self._key:
                raise EditorError(f"editor {self.endpoint} (model {self.model!r}) needs an API key in the "
                                  f"environment variable {settings.api_key_env}, which is not set")
        self._local = threading.local()
        self._cancel = threading.Event()
        self._errors_lock = threading.Lock()

    # -- secrets -------------------------------------------------------------------------------------------
    def _redact(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            s = requests.Session()
            if self._key:
                s.headers["Authorization"] = f"Bearer {self._key}"
            self._local.session = s
        return self._local.session

    # -- one request ---------------------------------------------------------------------------------------
    def _post_once(self, body: dict) -> dict:
        if self._cancel.is_set():
            raise _Cancelled()
        try:
            r = self._session().post(self.endpoint, json=body, timeout=self.settings.timeout_s)
        except requests.Timeout:
            raise TransientError(f"timed out after {self.settings.timeout_s} s") from None
        except requests.ConnectionError as e:
            raise TransientError(f"connection error ({type(e).__name__})") from None
        where = f"{self.endpoint} (model {self.model!r})"
        if r.status_code == 429 or r.status_code >= 500:
            retry_after = r.headers.get("Retry-After")
            try:
                retry_after = float(retry_after) if retry_after is not None else None
            except ValueError:
                retry_after = None
            raise TransientError(f"HTTP {r.status_code}", retry_after)
        if r.status_code in (401, 403):
            key = f"the key in ${self.settings.api_key_env}" if self.settings.api_key_env else "no API key"
            raise EditorError(f"{where} refused the request (HTTP {r.status_code}): check {key}")
        if r.status_code == 404:
            raise EditorError(f"{where} answered HTTP 404: check base_url and the model name")
        if r.status_code >= 400:
            raise EditorError(f"{where} rejected the request (HTTP {r.status_code}): "
                              f"{self._redact(r.text[:300])}")
        try:
            data = r.json()
            content = data["choices"][0]["message"]["content"]
            if not isinstance(content, str):
                raise TypeError("content is not a string")
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise TransientError(f"malformed response body ({type(e).__name__})") from None
        return data

    def _wait(self, retry_state) -> float:
        exc = retry_state.outcome.exception()
        s = self.settings
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            return min(exc.retry_after, s.backoff_max_s)
        base = s.backoff_initial_s * 2 ** (retry_state.attempt_number - 1)
        return min(s.backoff_max_s, base) * (0.5 + random.random() / 2)

    def request(self, prompt: str, decoding: EditorDecoding) -> Completion:
        body = {"model": self.model, "messages": [{"role": "user", "content": prompt}],
                "temperature": decoding.temperature, "top_p": decoding.top_p, "max_tokens": decoding.max_tokens}
        if decoding.seed is not None:
            body["seed"] = decoding.seed
        attempts = self.settings.max_retries + 1
        retrying = Retrying(retry=retry_if_exception_type(TransientError), wait=self._wait,
                            stop=stop_after_attempt(attempts), reraise=True)
        try:
            data = retrying(self._post_once, body)
        except TransientError as e:
            raise EditorError(f"{self.endpoint} (model {self.model!r}): gave up after {attempts} attempts; "
                              f"last error: {self._redact(str(e))}") from None
        usage = data.get("usage") or {}
        cost = usage.get("cost")
        return Completion(
            text=data["choices"][0]["message"]["content"],
            usage=Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0),
                        float(cost) if isinstance(cost, (int, float)) else None),
        )

    # -- many requests -------------------------------------------------------------------------------------
    def complete(self, prompts: list[str], decoding: EditorDecoding,
                 on_done: Callable[[int, Completion], None]) -> None:
        self._cancel.clear()
        bar = tqdm(total=len(prompts), desc=f"editor {self.model}", unit="req", mininterval=5)
        first_error: list[BaseException] = []

        def one(i: int) -> None:
            if self._cancel.is_set():
                return
            try:
                completion = self.request(prompts[i], decoding)
            except _Cancelled:
                return
            except BaseException as e:
                with self._errors_lock:
                    if not first_error:
                        first_error.append(e)
                self._cancel.set()  # before this worker takes another prompt
                return
            on_done(i, completion)
            bar.update(1)

        with ThreadPoolExecutor(max_workers=self.settings.concurrency) as pool:
            for future in [pool.submit(one, i) for i in range(len(prompts))]:
                future.result()
        bar.close()
        if first_error:
            raise first_error[0]

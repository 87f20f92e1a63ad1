"""The OpenAI-compatible HTTP editor against a local stub server: answers, retries, failures, secrets."""

from __future__ import annotations

import json
import logging

import pytest
from openai_stub import StubServer

from bmc.bridging.bridge import BridgeSettings, bridge
from bmc.bridging.editors import BridgeRequest, EditorError
from bmc.bridging.editors.openai_http import OpenAIBackend, OpenAISettings
from bmc.bridging.editors.prompted import EditorDecoding, PromptEditor, PromptTemplate
from bmc.bridging.editors.registry import make_editor
from bmc.cache import ResponseCache

TEMPLATE = PromptTemplate("**Problem:**\n{x}\n**Correct Answer:**\n{y_w}\n**Prediction:**\n{y_l}\n"
                          "**Corrected Prediction:**\n")
SECRET = "sk-test-SECRET-0123456789"


def backend(url, **kw):
    kw = {"backoff_initial_s": 0.01, "backoff_max_s": 0.05, "max_retries": 3, "timeout_s": 5.0,
          "api_key_env": None, **kw}
    return OpenAIBackend(OpenAISettings(model="editor-model", base_url=url, **kw))


def requests_for(n):
    return [BridgeRequest(f"problem {i}", f"The answer is {i}", f"The answer is {i + 1}", str(i)) for i in range(n)]


def test_normal_answers_with_usage_and_decoding(tmp_path):
    with StubServer() as server:
        editor = PromptEditor(backend(server.url, concurrency=4), TEMPLATE,
                              EditorDecoding(temperature=0.3, top_p=0.9, max_tokens=77, seed=5))
        results = editor.edit(requests_for(6))
    assert [r.text for r in results] == [f"The answer is {i}" for i in range(6)]
    assert all(r.usage.prompt_tokens > 0 and r.usage.cost == 0.001 and not r.cached for r in results)
    body = server.requests[0]["body"]
    assert body["model"] == "editor-model" and body["max_tokens"] == 77 and body["temperature"] == 0.3
    assert body["top_p"] == 0.9 and body["seed"] == 5 and server.requests[0]["path"] == "/v1/chat/completions"
    assert len(server.requests) == 6 and editor.requests_made == 6


def test_429_then_success():
    with StubServer(script=[429, 429]) as server:
        result = backend(server.url).request("hi", EditorDecoding())
    assert result.text and len(server.requests) == 3


def test_500s_until_the_retry_limit():
    with StubServer(script=[500] * 10) as server:
        with pytest.raises(EditorError, match=r"gave up after 3 attempts; last error: HTTP 500"):
            backend(server.url, max_retries=2).request("hi", EditorDecoding())
    assert len(server.requests) == 3


def test_timeout_is_retried():
    with StubServer(script=["timeout"], slow_s=1.0) as server:
        result = backend(server.url, timeout_s=0.3).request("hi", EditorDecoding())
    assert result.text and len(server.requests) == 2


def test_timeouts_until_the_limit_fail_clearly():
    with StubServer(script=["timeout"] * 3, slow_s=1.0) as server:
        with pytest.raises(EditorError, match="gave up after 2 attempts; last error: timed out"):
            backend(server.url, timeout_s=0.2, max_retries=1).request("hi", EditorDecoding())


@pytest.mark.parametrize("bad", ["malformed", "no_choices"])
def test_malformed_body_is_retried(bad):
    with StubServer(script=[bad]) as server:
        assert backend(server.url).request("hi", EditorDecoding()).text
    assert len(server.requests) == 2


def test_401_fails_at_once_naming_endpoint_model_and_variable(monkeypatch):
    monkeypatch.setenv("BMC_TEST_KEY", SECRET)
    with StubServer(script=[401]) as server:
        with pytest.raises(EditorError) as err:
            backend(server.url, api_key_env="BMC_TEST_KEY").request("hi", EditorDecoding())
    message = str(err.value)
    assert server.url in message and "editor-model" in message and "$BMC_TEST_KEY" in message
    assert "HTTP 401" in message and SECRET not in message
    assert len(server.requests) == 1  # no retry loop
    assert server.requests[0]["authorization"] == f"Bearer {SECRET}"  # the key was sent, only there


def test_404_names_the_model():
    with StubServer(script=[404]) as server:
        with pytest.raises(EditorError, match=r"editor-model.*HTTP 404: check base_url and the model name"):
            backend(server.url).request("hi", EditorDecoding())
    assert len(server.requests) == 1


def test_missing_key_variable_fails_before_any_request(monkeypatch):
    monkeypatch.delenv("BMC_UNSET_KEY", raising=False)
    with pytest.raises(EditorError, match="environment variable BMC_UNSET_KEY, which is not set"):
        backend("http://127.0.0.1:9/v1", api_key_env="BMC_UNSET_KEY")


def test_a_failure_stops_the_run_and_keeps_finished_responses(tmp_path):
    cache = ResponseCache(tmp_path / "cache.jsonl")
    with StubServer(script=["ok", "ok", 404]) as server:
        editor = PromptEditor(backend(server.url, concurrency=1), TEMPLATE, EditorDecoding(), cache)
        with pytest.raises(EditorError, match="404"):
            editor.edit(requests_for(10))
    assert len(cache) == 2 and len(server.requests) == 3


def test_the_key_never_reaches_logs_cache_stats_or_errors(tmp_path, monkeypatch, caplog, tokenizer):
    monkeypatch.setenv("BMC_TEST_KEY", SECRET)
    caplog.set_level(logging.DEBUG)
    spec = {"kind": "openai", "model": "editor-model", "api_key_env": "BMC_TEST_KEY", "max_retries": 1,
            "backoff_initial_s": 0.01}
    template = tmp_path / "t.txt"
    template.write_text(TEMPLATE.text)
    cache_path = tmp_path / "cache.jsonl"
    pairs = [{"problem": r.x, "y_w": r.y_w, "y_l": r.y_l, "answer": r.answer} for r in requests_for(4)]
    with StubServer(script=[429]) as server:
        editor = make_editor(spec | {"base_url": server.url}, template, {"max_tokens": 32}, cache_path)
        rows, stats = bridge(pairs, editor, tokenizer, BridgeSettings(answer_check=False))
    errors = []
    for status in (401, 400, 500):
        with StubServer(script=[status] * 5) as server:
            editor = make_editor(spec | {"base_url": server.url}, template, {}, tmp_path / "c2.jsonl")
            with pytest.raises(EditorError) as err:
                editor.edit(requests_for(1))
            errors.append(str(err.value))
    assert len(rows) == 4 and stats["editor_usage"]["requests_made"] == 4
    for text in [cache_path.read_text(), json.dumps(stats), json.dumps(rows), caplog.text, *errors]:
        assert SECRET not in text
    assert "***" in errors[1]  # the 400 body echoed the key: redacted


def test_cached_responses_make_no_requests(tmp_path):
    cache_path = tmp_path / "cache.jsonl"
    with StubServer() as server:
        first = PromptEditor(backend(server.url), TEMPLATE, EditorDecoding(), ResponseCache(cache_path))
        first.edit(requests_for(5))
        again = PromptEditor(backend(server.url), TEMPLATE, EditorDecoding(), ResponseCache(cache_path))
        results = again.edit(requests_for(7))
    assert len(server.requests) == 7 and again.requests_made == 2
    assert [r.cached for r in results] == [True] * 5 + [False] * 2

"""The editor response cache: keys, crash safety, and a bridging run killed and resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from openai_stub import StubServer

from bmc.cache import ResponseCache, cache_key

BASE = dict(editor="openai", model="gpt-4-0125-preview", template="T {x} {y_w} {y_l}",
            decoding={"temperature": 0.0, "max_tokens": 10}, x="x", y_w="w", y_l="l")


@pytest.mark.parametrize("field,value", [
    ("editor", "vllm"), ("model", "llama-3-70b"), ("template", "T2 {x} {y_w} {y_l}"),
    ("decoding", {"temperature": 0.1, "max_tokens": 10}), ("x", "x2"), ("y_w", "w2"), ("y_l", "l2"),
])
def test_key_changes_when_an_input_changes(field, value):
    assert cache_key(**(BASE | {field: value})) != cache_key(**BASE)


def test_key_changes_only_when_an_input_changes():
    assert cache_key(**BASE) == cache_key(**dict(BASE))
    # dict order does not matter; equal values give equal keys
    assert cache_key(**(BASE | {"decoding": {"max_tokens": 10, "temperature": 0.0}})) == cache_key(**BASE)


def test_cut_off_line_is_ignored_and_does_not_corrupt_later_entries(tmp_path):
    path = tmp_path / "c.jsonl"
    cache = ResponseCache(path)
    cache.put("a", {"text": "A"})
    cache.put("b", {"text": "B"})
    with open(path, "ab") as f:  # a crash in the middle of an append
        f.write(b'{"key": "c", "value": {"text": "C"')
    reloaded = ResponseCache(path)
    assert reloaded.get("a") == {"text": "A"} and "c" not in reloaded and reloaded.skipped_lines == 1
    reloaded.put("d", {"text": "D"})
    again = ResponseCache(path)
    assert {k: again.get(k) for k in "abd"} == {"a": {"text": "A"}, "b": {"text": "B"}, "d": {"text": "D"}}
    assert again.skipped_lines == 1


def test_a_tampered_line_fails_its_checksum(tmp_path):
    path = tmp_path / "c.jsonl"
    ResponseCache(path).put("a", {"text": "A"})
    path.write_text(path.read_text().replace('"A"', '"Z"'))
    cache = ResponseCache(path)
    assert "a" not in cache and cache.skipped_lines == 1


RUNNER = textwrap.dedent('''
    import json, sys
    from transformers import AutoTokenizer
    from bmc.bridging.bridge import BridgeSettings, bridge
    from bmc.bridging.editors.registry import make_editor
    url, tokenizer_dir, template, cache, pairs_path, out = sys.argv[1:]
    pairs = [json.loads(line) for line in open(pairs_path)]
    editor = make_editor({"kind": "openai", "model": "m", "base_url": url, "api_key_env": None,
                          "concurrency": 3, "backoff_initial_s": 0.01}, template, {"max_tokens": 50}, cache)
    rows, stats = bridge(pairs, editor, AutoTokenizer.from_pretrained(tokenizer_dir),
                         BridgeSettings(answer_check=False))
    json.dump({"rows": rows, "requests_made": stats["editor_usage"]["requests_made"]}, open(out, "w"))
''')


def _run(tmp_path, url, cache, out, wait=True):
    args = [sys.executable, "-c", RUNNER, url, str(tmp_path / "tok"), str(tmp_path / "t.txt"), str(cache),
            str(tmp_path / "pairs.jsonl"), str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env=os.environ | {"HF_HUB_OFFLINE": "1"})
    if wait:
        assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()
    return proc


def test_killed_run_resumes_without_losing_or_repeating_requests(tmp_path, tokenizer):
    m, n = 12, 5
    tokenizer.save_pretrained(tmp_path / "tok")
    (tmp_path / "t.txt").write_text("**Problem:**\n{x}\n**Correct Answer:**\n{y_w}\n**Prediction:**\n{y_l}\n"
                                    "**Corrected:**\n")
    with open(tmp_path / "pairs.jsonl", "w") as f:
        for i in range(m):
            f.write(json.dumps({"problem": f"p{i}", "y_w": f"right {i}", "y_l": f"wrong {i}", "answer": str(i)}) + "\n")
    cache = tmp_path / "cache.jsonl"

    # run 1: the server answers n requests, then hangs; the client is killed (SIGKILL) mid-run
    with StubServer(gate=n) as server:
        proc = _run(tmp_path, server.url, cache, tmp_path / "out1.json", wait=False)
        deadline = time.time() + 60
        while time.time() < deadline and (not cache.exists() or len(ResponseCache(cache)) < n):
            time.sleep(0.05)
        time.sleep(0.3)  # the hanging requests are in flight
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not (tmp_path / "out1.json").exists()
    finished = len(ResponseCache(cache))
    assert finished == n

    # run 2: resumes; exactly the m - n missing requests are made
    with StubServer() as server:
        _run(tmp_path, server.url, cache, tmp_path / "out2.json")
    resumed = json.loads((tmp_path / "out2.json").read_text())
    assert len(server.requests) == m - n and resumed["requests_made"] == m - n

    # run 3: a rerun after completion makes no request at all
    with StubServer() as server:
        _run(tmp_path, server.url, cache, tmp_path / "out3.json")
    assert len(server.requests) == 0

    # the resumed output equals an uninterrupted run's
    with StubServer() as server:
        _run(tmp_path, server.url, tmp_path / "fresh_cache.jsonl", tmp_path / "out4.json")
    assert len(server.requests) == m
    assert resumed["rows"] == json.loads((tmp_path / "out4.json").read_text())["rows"]


def test_parallel_writers_share_one_file(tmp_path):
    path = tmp_path / "c.jsonl"
    code = ("import sys; from bmc.cache import ResponseCache; c = ResponseCache(sys.argv[1]); "
            "[c.put(f'{sys.argv[2]}-{i}', {'text': 'x' * 2000}) for i in range(200)]")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path), tag]) for tag in "ab"]
    assert all(p.wait(timeout=60) == 0 for p in procs)
    cache = ResponseCache(path)
    assert len(cache) == 400 and cache.skipped_lines == 0
    assert Path(str(path) + ".lock").exists()

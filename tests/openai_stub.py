"""A local OpenAI-compatible chat-completions server on 127.0.0.1, scripted per request.

``script`` is a list of behaviours consumed one per request (then every request is answered normally):
``"ok"``, an HTTP status code (429, 500, 401, 404, 400), ``"timeout"`` (answers only after ``slow_s``),
``"malformed"`` (HTTP 200 with a body that is not JSON) or ``"no_choices"`` (JSON without choices).
``gate``: after that many normal answers, requests hang (to kill a client mid-run). A normal answer
"corrects" the prediction by returning the **Correct Answer** section of the prompt, deterministically.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def corrected(prompt: str) -> str:
    if "**Correct Answer:**\n" in prompt:
        return prompt.split("**Correct Answer:**\n", 1)[1].split("\n**Prediction:**", 1)[0]
    return "EDITED " + prompt[-40:]


class StubServer:
    def __init__(self, script=None, gate: int | None = None, slow_s: float = 1.0, report_cost: bool = True):
        self.script = list(script or [])
        self.gate = gate
        self.slow_s = slow_s
        self.report_cost = report_cost
        self.lock = threading.Lock()
        self.requests: list[dict] = []  # every request received: body and Authorization header
        self.answered = 0               # normal answers sent
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _send(self, status: int, payload: bytes, headers=None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self):  # GET /v1/models, the judges' pre-flight probe; a scripted 401/403 refuses it
                with stub.lock:
                    stub.requests.append({"path": self.path, "body": None,
                                          "authorization": self.headers.get("Authorization")})
                    refuse = bool(stub.script) and stub.script[0] in (401, 403)
                    status = stub.script.pop(0) if refuse else 200
                if refuse:
                    return self._send(status, json.dumps({"error": {"message": "Incorrect API key provided: "
                                                                    f"{self.headers.get('Authorization')}"}}).encode())
                return self._send(200, json.dumps({"object": "list", "data": [{"id": "stub", "object": "model"}]}).encode())

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                auth = self.headers.get("Authorization")
                with stub.lock:
                    stub.requests.append({"path": self.path, "body": body, "authorization": auth})
                    action = stub.script.pop(0) if stub.script else "ok"
                    if action == "ok" and stub.gate is not None and stub.answered >= stub.gate:
                        action = "hang"
                    if action == "ok":
                        stub.answered += 1
                if action == "hang":
                    time.sleep(3600)
                    return
                if action == "timeout":
                    time.sleep(stub.slow_s)
                    action = "ok"
                if action == "malformed":
                    return self._send(200, b'{"choices": [{"message": {"content": "tru')
                if action == "no_choices":
                    return self._send(200, b'{"object": "chat.completion"}')
                if isinstance(action, int):
                    if action in (401, 400):  # real endpoints echo (part of) the key in such errors
                        message = f"Incorrect API key provided: {auth}"
                    else:
                        message = "error"
                    headers = {"Retry-After": "0"} if action == 429 else None
                    return self._send(action, json.dumps({"error": {"message": message}}).encode(), headers)
                prompt = body["messages"][0]["content"]
                text = corrected(prompt)
                logprobs = None
                if body.get("logprobs"):  # an AlpacaEval-style judge: one token, "m" (output 1 better) or "M"
                    text = "m"
                    top = [{"token": "m", "logprob": -0.35667, "bytes": [109]},
                           {"token": "M", "logprob": -1.20397, "bytes": [77]}]
                    logprobs = {"content": [{"token": "m", "logprob": -0.35667, "bytes": [109], "top_logprobs": top}]}
                usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(text.split()),
                         "total_tokens": len(prompt.split()) + len(text.split())}
                if stub.report_cost:
                    usage["cost"] = 0.001
                payload = {"id": "x", "object": "chat.completion", "model": body["model"],
                           "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                        "finish_reason": "stop", "logprobs": logprobs}], "usage": usage}
                return self._send(200, json.dumps(payload).encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

"""A local test server that speaks the Ollama HTTP API, standing in for the Ollama daemon.

It serves /api/version, /api/tags, /api/show, /api/chat (streamed NDJSON or one JSON object)
and /api/pull (streamed progress), and can be told to fail: `mode` = "ok", "error500",
"slow" (sleeps before replying) or "missing" (every model is unknown).
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeOllama:
    def __init__(self, models=("qwen2.5:7b-instruct",)):
        self.models = list(models)
        self.replies: list[str] = []  # queue of assistant replies for /api/chat
        self.mode = "ok"
        self.slow_seconds = 5.0
        self.requests: list[dict] = []  # every /api/chat request body, for assertions
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def _json(self, status: int, body) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, lines) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.end_headers()
                for line in lines:
                    self.wfile.write((json.dumps(line) + "\n").encode())
                    self.wfile.flush()

            def do_GET(self):
                if self.path == "/api/version":
                    return self._json(200, {"version": "0.12.0"})
                if self.path == "/api/tags":
                    models = [] if fake.mode == "missing" else fake.models
                    return self._json(200, {"models": [
                        {"name": m, "model": m, "size": 1, "digest": "0" * 12, "details": {}} for m in models]})
                return self._json(404, {"error": "not found"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                model = body.get("model") or body.get("name") or ""
                known = fake.mode != "missing" and model in fake.models
                if self.path == "/api/show":
                    if not known:
                        return self._json(404, {"error": f"model '{model}' not found"})
                    return self._json(200, {"modelfile": "", "parameters": "", "template": "",
                                            "details": {"family": "qwen2"}, "model_info": {}})
                if self.path == "/api/pull":
                    return self._stream([
                        {"status": "pulling manifest"},
                        {"status": "downloading", "digest": "sha256:1", "total": 100, "completed": 40},
                        {"status": "downloading", "digest": "sha256:1", "total": 100, "completed": 100},
                        {"status": "success"},
                    ])
                if self.path == "/api/chat":
                    fake.requests.append(body)
                    if fake.mode == "error500":
                        return self._json(500, {"error": "llama runner process has terminated"})
                    if not known:
                        return self._json(404, {"error": f"model '{model}' not found, try pulling it first"})
                    if fake.mode == "slow":
                        time.sleep(fake.slow_seconds)
                    reply = fake.replies.pop(0) if fake.replies else "NOT_IN_SOURCES"
                    if body.get("stream", True):
                        words = reply.split(" ")
                        pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
                        return self._stream(
                            [{"model": model, "created_at": "2025-11-09T00:00:00Z",
                              "message": {"role": "assistant", "content": p}, "done": False} for p in pieces]
                            + [{"model": model, "created_at": "2025-11-09T00:00:00Z",
                                "message": {"role": "assistant", "content": ""}, "done": True,
                                "done_reason": "stop"}])
                    return self._json(200, {"model": model, "created_at": "2025-11-09T00:00:00Z",
                                            "message": {"role": "assistant", "content": reply},
                                            "done": True, "done_reason": "stop"})
                return self._json(404, {"error": "not found"})

        return Handler

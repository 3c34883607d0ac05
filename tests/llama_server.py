"""llama.cpp's own HTTP server (xllamacpp.Server) in a process of its own, as a user runs
`llama-server`: `python tests/llama_server.py MODEL.gguf PORT [API_KEY]`. It prints "ready"
once the OpenAI-compatible API answers, and serves until its stdin closes (the test ends)."""

import sys
import time

import httpx
import xllamacpp as xlc


def main(model: str, port: int, api_key: str = "") -> None:
    params = xlc.CommonParams()
    params.model.path = model
    params.n_ctx = 4096
    params.verbosity = -1
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = 2
    params.hostnames = ["127.0.0.1"]  # this machine only
    params.port = port
    if api_key:
        params.api_keys = [api_key]
    server = xlc.Server(params)  # noqa: F841 (serves while it lives)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", headers=headers, timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    print("ready", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), *sys.argv[3:])

"""Nothing is downloaded at run time: the models load from local files, with the network cut."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

# Run in a fresh process whose sockets refuse every address that is not this machine, and
# whose name lookups refuse every host that is not local: a download, a hub check or a
# telemetry call would be recorded and fail. The hub's own offline switches are cleared, so
# they cannot be what keeps it quiet.
GUARDED = textwrap.dedent('''
    import ipaddress, json, socket, sys
    attempts = []
    LOCAL_NAMES = {"localhost", "127.0.0.1", "::1", ""}

    def local(address):
        host = address[0] if isinstance(address, tuple) else address
        if not isinstance(host, str):
            return True  # a Unix socket path as bytes
        if host.startswith("/"):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return host in LOCAL_NAMES

    real_connect, real_connect_ex, real_getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def connect(self, address):
        if self.family != socket.AF_UNIX and not local(address):
            attempts.append(repr(address))
            raise OSError("network cut by the test")
        return real_connect(self, address)

    def connect_ex(self, address):
        if self.family != socket.AF_UNIX and not local(address):
            attempts.append(repr(address))
            return 111
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if not local(host if isinstance(host, str) else ""):
            attempts.append(f"lookup {host}")
            raise socket.gaierror("network cut by the test")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo

    import urllib.request
    try:  # the guard itself works: a real download is seen and stopped
        urllib.request.urlopen("https://huggingface.co/api/models", timeout=5)
    except OSError:
        pass
    assert attempts, "the guard saw nothing"
    attempts.clear()

    from rag import FactChecker
    folder, index = sys.argv[1], sys.argv[2]
    bot = FactChecker.build([folder], index, progress=False)
    answer = bot.ask("When does the ferry to Lampedusa leave?", backend="extractive")
    verdict = bot.check("The ferry to Lampedusa leaves at 7 in the morning.", backend="extractive")
    print(json.dumps({"attempts": attempts, "answer": answer.answer, "cited": len(answer.citations),
                      "verdict": verdict.verdict}))
''')

ARTICLE = ("Ferry timetable for the islands\n\n"
           "The harbour authority of Porto Empedocle approved the winter timetable on Monday. "
           "The ferry to Lampedusa leaves at 7 in the morning every day except Sunday. "
           "Tickets cost 40 euros for adults and 20 euros for children.\n")


def test_building_asking_and_checking_download_nothing(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "ferry.txt").write_text(ARTICLE, encoding="utf-8")
    script = tmp_path / "guarded.py"
    script.write_text(GUARDED, encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE")}
    done = subprocess.run([sys.executable, str(script), str(folder), str(tmp_path / "index")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["attempts"] == []
    # the models really ran: the answer quotes the timetable and the judge decided the claim
    assert "7" in result["answer"] and result["cited"] >= 1
    assert result["verdict"] == "SUPPORTED"

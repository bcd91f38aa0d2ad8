"""The README's local path, as a reader runs it: `jupyter lab book/` starts JupyterLab with the book,
and a notebook of the book executes through that server's kernel with the stored verdicts.

The server is the `jupyter` command of the environment these tests run in, which `make test` builds
from requirements.txt (with the lock's versions): the same packages `pip install -r requirements.txt`
gives a reader. The notebook is sent cell by cell over the server's kernel websocket, as JupyterLab's
"Run All" does, so a missing kernel, a kernel from another environment or a broken install shows.
"""
from __future__ import annotations

import asyncio
import json
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from check_ledger import check_lines, entry  # noqa: E402

pytestmark = pytest.mark.reader_env
NOTEBOOK = "batchnorm/algorithm1.ipynb"  # short (about 3 s) and full of [check] lines against PyTorch


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def jupyter_lab(tmp_path_factory):
    jupyter = Path(sys.executable).parent / "jupyter"
    assert jupyter.exists(), f"{jupyter} is missing: requirements.txt does not install Jupyter"
    port, token = _free_port(), secrets.token_hex(16)
    home = tmp_path_factory.mktemp("home")  # no reader settings, no workspace of an earlier run
    env = {"PATH": f"{jupyter.parent}:/usr/bin:/bin", "HOME": str(home),
           "JUPYTER_CONFIG_DIR": str(home / "cfg"), "JUPYTER_RUNTIME_DIR": str(home / "rt"),
           "TRAINWELL_PROGRESS": "0", "TRAINWELL_SIZE": "quick"}
    server = subprocess.Popen([str(jupyter), "lab", "book/", "--no-browser", f"--port={port}",
                               "--ip=127.0.0.1", f"--IdentityProvider.token={token}", "--allow-root"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(f"`jupyter lab book/` did not start:\n{server.stdout.read()[-3000:]}")
            time.sleep(0.3)
    yield base, token
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.read().decode()


def test_jupyter_lab_serves_the_book(jupyter_lab):
    base, token = jupyter_lab
    status, page = _get(f"{base}/lab/tree/{NOTEBOOK}?token={token}")
    assert status == 200 and "JupyterLab" in page
    status, listing = _get(f"{base}/api/contents?token={token}")
    names = {item["name"] for item in json.loads(listing)["content"]}
    assert {"intro.md", "regularization", "dropout", "batchnorm", "optimization", "together"} <= names


def _message(msg_type: str, content: dict, session: str) -> dict:
    return {"header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "reader",
                       "session": session, "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "content": content, "channel": "shell", "buffers": []}


async def _run_cells(ws_url: str, sources: list[str]) -> list[list[dict]]:
    from tornado.websocket import websocket_connect

    connection = await websocket_connect(ws_url)
    session, outputs = uuid.uuid4().hex, []
    for source in sources:
        request = _message("execute_request", {"code": source, "silent": False, "store_history": True,
                                               "user_expressions": {}, "allow_stdin": False,
                                               "stop_on_error": True}, session)
        await connection.write_message(json.dumps(request))
        cell, idle = [], False
        while not idle:
            raw = await asyncio.wait_for(connection.read_message(), timeout=300)
            assert raw is not None, "the kernel's websocket closed"
            message = json.loads(raw)
            if message["parent_header"].get("msg_id") != request["header"]["msg_id"]:
                continue
            kind = message["msg_type"]
            if kind in ("stream", "error", "execute_result", "display_data"):
                cell.append({"output_type": kind, **message["content"]})
            idle = kind == "status" and message["content"]["execution_state"] == "idle"
        outputs.append(cell)
    connection.close()
    return outputs


def test_a_notebook_executes_through_the_server_with_the_stored_verdicts(jupyter_lab):
    base, token = jupyter_lab
    body = json.dumps({"path": NOTEBOOK, "type": "notebook", "name": "", "kernel": {"name": "python3"}})
    request = urllib.request.Request(f"{base}/api/sessions?token={token}", data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        kernel = json.loads(response.read())["kernel"]
    stored = nbformat.read(ROOT / "book" / NOTEBOOK, as_version=4)
    sources = [cell.source for cell in stored.cells if cell.cell_type == "code"]
    ws_url = re.sub("^http", "ws", f"{base}/api/kernels/{kernel['id']}/channels?token={token}")
    outputs = asyncio.run(_run_cells(ws_url, sources))
    errors = [o for cell in outputs for o in cell if o["output_type"] == "error"]
    assert not errors, f"{errors[0]['ename']}: {errors[0]['evalue']}"
    ran = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    for cell, cell_outputs in zip(ran.cells, outputs, strict=True):
        cell.outputs = [nbformat.v4.new_output("stream", name=o["name"], text=o["text"])
                        for o in cell_outputs if o["output_type"] == "stream"]
    expected = [entry(line)[:2] for line in check_lines(stored)]
    assert len(expected) >= 5
    assert [entry(line)[:2] for line in check_lines(ran)] == expected

"""Issue 13, item 12: the Run path, replayed against a real kernel.

The test plays the front end over the real Jupyter protocol (jupyter_client): it receives the widgets' comm
opens and updates, answers the ``dllmagic.bridge`` comm, and sends the same ``comm_msg`` clicks a browser
sends. ``pip`` in the kernel is a stand-in package first on PYTHONPATH (it appends a line to a file for each
run and, in ``setsid`` mode, starts a grandchild in its own session and a double-forked daemon that keep the
output pipe open), so nothing reaches the network or changes an environment.
"""
from __future__ import annotations

import json
import os
import queue
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.kernel, pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")]

FAKE_PIP = textwrap.dedent("""
    import os, subprocess, sys, time
    mode = os.environ.get("FAKE_PIP_MODE", "ok")
    with open(os.environ["FAKE_PIP_RUNS"], "a") as f:
        f.write(" ".join(sys.argv[1:]) + "\\n")
    print("Collecting", *sys.argv[2:], flush=True)
    if mode == "setsid":
        sleeper = [sys.executable, "-c", "import time; time.sleep(600)"]
        # A grandchild in its own session (setsid): not in the run's process group.
        detached = subprocess.Popen(sleeper, start_new_session=True)
        # A daemon that double-forks away: re-parented, only the environment still ties it to the run.
        r, w = os.pipe()
        if os.fork() == 0:
            os.setsid()
            pid = os.fork()
            if pid:
                os.write(w, str(pid).encode()); os._exit(0)
            time.sleep(600); os._exit(0)
        os.close(w)
        daemon = int(os.read(r, 32))
        with open(os.environ["FAKE_PIP_PIDS"], "w") as f:
            f.write(f"{os.getpid()} {detached.pid} {daemon}")
        for i in range(6000):
            print("downloading", i, flush=True)
            time.sleep(0.1)
    print("Successfully installed", *sys.argv[2:], flush=True)
""")

SETUP = textwrap.dedent("""
    import sys
    from dllmagic._kernel import extension_for
    from dllmagic.model import Failure, Finding, Fix, Interpreter, Report
    _it = Interpreter(executable=sys.executable, real_executable=sys.executable, version="3", implementation="CPython",
                      architecture="x86_64", bits=64, platform="linux", prefix=sys.prefix,
                      base_prefix=sys.base_prefix, environment_kind="venv")
    def _report(module="dm_fixed_mod", extra=()):
        pip = Fix(id="pip-00000001", kind="pip", title="Install", cell="%pip install dm-fixed-mod",
                  argv=(sys.executable, "-m", "pip", "install", "dm-fixed-mod"), restart=True, runnable=True)
        f = Finding(kind="module-not-found", cause="not-installed", summary="No module named x", confidence=0.9,
                    fixes=(pip, *extra))
        return Report(target=module, ok=False, interpreter=_it, findings=(f,),
                      failure=Failure(kind="module-not-found", exc_type="ModuleNotFoundError",
                                      message="No module named x", module=module))
    _ext = extension_for(get_ipython())
""")


class Front:
    """A minimal widget front end: widget states by comm id, the bridge comms, clicks as comm messages."""

    def __init__(self, kernel):
        self.kernel = kernel
        self.client = kernel.client
        self.models = {}          # comm id -> widget state
        self.bridge = {}          # comm id -> messages the kernel sent on it
        self.outputs = []

    def _handle(self, msg) -> None:
        kind, content = msg["msg_type"], msg["content"]
        if kind == "comm_open" and content.get("target_name") == "jupyter.widget":
            self.models[content["comm_id"]] = dict(content["data"].get("state") or {})
        elif kind == "comm_open" and content.get("target_name") == "dllmagic.bridge":
            self.bridge[content["comm_id"]] = [content["data"]]
            self.send(content["comm_id"], {"op": "ready", "protocol": 1, "app": "test"})
        elif kind == "comm_msg":
            cid = content["comm_id"]
            data = content.get("data") or {}
            if cid in self.models and data.get("method") in ("update", "echo_update"):
                self.models[cid].update(data.get("state") or {})
            elif cid in self.bridge:
                self.bridge[cid].append(data)
        elif kind == "comm_close":
            self.models.pop(content["comm_id"], None)
        elif kind in ("stream", "display_data", "error"):
            self.outputs.append(msg)

    def pump(self, seconds: float = 0.5) -> None:
        """Handle iopub messages until none arrived for ``seconds``."""
        while True:
            try:
                msg = self.client.get_iopub_msg(timeout=seconds)
            except queue.Empty:
                return
            self._handle(msg)

    def until(self, predicate, timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            try:
                self._handle(self.client.get_iopub_msg(timeout=0.2))
            except queue.Empty:
                pass
        return bool(predicate())

    def execute(self, code: str, cell_id: str = None, timeout: float = 120.0) -> dict:
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                   "allow_stdin": False, "stop_on_error": True}
        msg = self.client.session.msg("execute_request", content,
                                      metadata={"cellId": cell_id} if cell_id else {})
        self.client.shell_channel.send(msg)
        deadline = time.monotonic() + timeout
        while True:
            reply = self.client.get_shell_msg(timeout=max(1.0, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
                break
        self.pump(0.5)
        assert reply["content"]["status"] == "ok", reply["content"]
        return reply["content"]

    def value(self, code: str):
        """Evaluate ``code`` in the kernel and return its repr-decoded value (a JSON-able expression)."""
        reply = self.execute(f"import json as _j; print('@@' + _j.dumps({code}))")
        del reply
        for msg in reversed(self.outputs):
            if msg["msg_type"] == "stream" and "@@" in msg["content"]["text"]:
                line = [ln for ln in msg["content"]["text"].splitlines() if ln.startswith("@@")][-1]
                return json.loads(line[2:])
        raise AssertionError("no value printed")

    def send(self, comm_id: str, data: dict) -> None:
        msg = self.client.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
        self.client.shell_channel.send(msg)

    def click(self, comm_id: str) -> None:
        self.send(comm_id, {"method": "custom", "content": {"event": "click"}})

    def buttons(self, description: str):
        return [cid for cid, st in self.models.items()
                if st.get("_model_name") == "ButtonModel" and st.get("description") == description]

    def html(self) -> str:
        return "\n".join(str(st.get("value", "")) for st in self.models.values()
                         if st.get("_model_name") == "HTMLModel")


@pytest.fixture
def front(start_kernel, tmp_path):
    root = tmp_path / "fakepip"
    (root / "pip").mkdir(parents=True)
    (root / "pip" / "__init__.py").write_text("")
    (root / "pip" / "__main__.py").write_text(FAKE_PIP)
    (root / "dm_fixed_mod.py").write_text("VALUE = 1\n")
    runs, pids = tmp_path / "runs.txt", tmp_path / "pids.txt"
    kernel = start_kernel(env={"PYTHONPATH": str(root), "FAKE_PIP_RUNS": str(runs), "FAKE_PIP_PIDS": str(pids)})
    f = Front(kernel)
    f.execute("%load_ext dllmagic")
    f.execute(SETUP)
    f.runs, f.pids = runs, pids
    yield f
    f.execute("from dllmagic import _runner\nr = _runner.current()\nif r: r.cancel()")


def run_count(front) -> int:
    return len(front.runs.read_text().splitlines()) if front.runs.exists() else 0


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_run_it_the_kernel_did_not_issue_runs_nothing_and_a_confirmation_runs_once(front):
    front.execute("_ext.display(_report())", cell_id="cell-a")
    (run_btn,) = front.buttons("Run")
    assert front.buttons("Run it") == []            # no confirm button exists before Run is pressed
    # Every other button clicked, forged clicks to made-up ids, a custom message with a made-up nonce.
    # Run itself is left out: any click on it, nonce or not, is the first step (Step 1 below). What it
    # issues is withdrawn by "Don't run", which is built with the first confirmation, so a snapshot of the
    # models taken before would not hold it and the confirmation would stay pending.
    for cid, state in list(front.models.items()):
        if cid == run_btn:
            continue
        if state.get("_model_name") == "ButtonModel":
            front.click(cid)
        front.send(cid, {"method": "custom", "content": {"event": "click", "nonce": "0" * 32}})
    front.click("f" * 32)
    front.pump(1.0)
    assert run_count(front) == 0
    assert front.value("__import__('dllmagic._runner', fromlist=['x'])._pending == {}") is True

    # Step 1: Run. The kernel records a confirmation, shows the argv and makes a "Run it" for it.
    front.click(run_btn)
    assert front.until(lambda: front.buttons("Run it"))
    (yes,) = front.buttons("Run it")
    exe = front.value("__import__('sys').executable")
    assert f"{exe} -m pip install dm-fixed-mod" in front.html()
    # Don't run: the confirmation is withdrawn and its button closed; a later click on it runs nothing.
    (no,) = front.buttons("Don't run")
    front.click(no)
    assert front.until(lambda: yes not in front.models)
    front.click(yes)
    front.pump(1.0)
    assert run_count(front) == 0

    # Step 2: Run, then "Run it" twice: exactly one run.
    front.click(run_btn)
    assert front.until(lambda: front.buttons("Run it"))
    (yes,) = front.buttons("Run it")
    front.click(yes)
    front.click(yes)
    assert front.until(lambda: "dm-run-succeeded" in front.html(), 60)
    front.pump(1.0)
    assert run_count(front) == 1


def test_cancel_ends_setsid_and_double_forked_descendants_and_frees_the_slot(front):
    front.execute("import os; os.environ['FAKE_PIP_MODE'] = 'setsid'\n_ext.display(_report())", cell_id="c1")
    (run_btn,) = front.buttons("Run")
    front.click(run_btn)
    assert front.until(lambda: front.buttons("Run it"))
    front.click(front.buttons("Run it")[0])
    assert front.until(lambda: front.pids.exists() and len(front.pids.read_text().split()) == 3, 60)
    leader, detached, daemon = map(int, front.pids.read_text().split())
    assert alive(detached) and alive(daemon)
    assert os.getsid(detached) != os.getsid(leader)            # really outside the run's session
    (cancel,) = front.buttons("Cancel")
    t0 = time.monotonic()
    front.click(cancel)
    assert front.until(lambda: "dm-run-cancelled" in front.html(), 30)
    deadline = time.monotonic() + 10
    while (alive(detached) or alive(daemon) or alive(leader)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(leader) and not alive(detached) and not alive(daemon), "a descendant outlived Cancel"
    assert time.monotonic() - t0 < 15
    # The per-kernel slot is free: a new run starts and succeeds.
    assert front.value("__import__('dllmagic._runner', fromlist=['x']).current() is None") is True
    front.execute("os.environ['FAKE_PIP_MODE'] = 'ok'")
    front.click(run_btn)
    assert front.until(lambda: front.buttons("Run it"))
    front.click(front.buttons("Run it")[0])
    assert front.until(lambda: "dm-run-succeeded" in front.html(), 60)
    assert run_count(front) == 2


def test_switch_kernel_takes_the_name_from_the_fix_data_not_the_cell_text(front):
    front.execute(textwrap.dedent("""
        _switch = Fix(id="kernel-switch-00000001", kind="kernel-switch", title="Switch",
                      cell="# Kernel > Change Kernel... > kernel: evil   (kernelspec: evil)", restart=True,
                      kernel="good-kernel")
        _textonly = Fix(id="kernel-switch-00000002", kind="kernel-switch", title="Switch (text only)",
                        cell="# Kernel > Change Kernel... > x   (kernelspec: from-text)", restart=True)
        _ext.display(_report(extra=(_switch, _textonly)))
    """), cell_id="c2")
    assert front.until(lambda: front.buttons("Switch kernel") and any(
        st.get("layout") for st in front.models.values()))
    switches = front.buttons("Switch kernel")
    layouts = {cid: front.models.get(str(front.models[cid].get("layout", "")).replace("IPY_MODEL_", ""), {})
               for cid in switches}
    shown = [cid for cid in switches if layouts[cid].get("display") != "none"]
    assert len(shown) == 1, "a switch fix without kernel data must not offer the button"
    front.click(shown[0])
    assert front.until(lambda: any(m.get("op") == "switch-kernel" for msgs in front.bridge.values()
                                   for m in msgs))
    sent = [m for msgs in front.bridge.values() for m in msgs if m.get("op") == "switch-kernel"]
    assert [m["kernel"] for m in sent] == ["good-kernel"]


def test_report_widgets_are_closed_when_superseded_and_on_unload(front):
    count = "len(__import__('ipywidgets').widgets.widget._instances)"
    base = front.value(count)
    assert base < 50
    front.execute("_ext.display(_report())", cell_id="one")
    per_view = front.value(count) - base
    assert per_view > 0
    # The same cell run again 30 times: one live report.
    for _ in range(30):
        front.execute("_ext.display(_report())", cell_id="one")
    assert front.value(count) - base <= per_view + 2
    # 151 reports from different cells: bounded by the cap, not by the number of reports.
    front.execute("for _i in range(151): _ext.display(_report())")
    live = front.value(count) - base
    cap = front.value("__import__('dllmagic.report.widget', fromlist=['x'])._MAX_VIEWS")
    assert live <= cap * (per_view + 2), live
    assert live < 151 * per_view / 3
    comms = "len(__import__('comm').get_comm_manager().comms)"
    open_comms = front.value(comms)
    front.execute("%unload_ext dllmagic")
    assert front.value(count) - base <= 2
    # Their comms (and the bridge comms) are closed too.
    assert front.value(comms) <= open_comms - live

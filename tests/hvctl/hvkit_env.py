"""hvkit_env.py -- a private hvd + hv (bundled guest) in a temporary runtime
directory for hvctl's end-to-end tests and benchmark, and a minimal direct
client of hvd's JSON API (docs/api.md) to compare hvctl against."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "guest"))
import check_report  # noqa: E402  (the guest report parser, hv/guest/REPORT.md)


class Api:
    """One connection to hvd's API socket: greeting, then execute()."""

    def __init__(self, path, timeout=30):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""
        self.greeting = self._msg()
        self.next_id = 1000

    def _msg(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise EOFError("hvd closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, cmd, **args):
        """The reply object ({"return"...} or {"error"...})."""
        self.next_id += 1
        req = {"execute": cmd, "id": self.next_id}
        if args:
            req["arguments"] = args
        self.s.sendall(json.dumps(req).encode() + b"\n")
        while True:
            m = self._msg()
            if "event" in m:
                continue
            if m.get("id") != self.next_id:
                raise ValueError("reply for another id: %r" % m)
            return m

    def ret(self, cmd, **args):
        m = self.call(cmd, **args)
        if "return" not in m:
            raise RuntimeError("%s: %r" % (cmd, m))
        return m["return"]

    def close(self):
        self.s.close()


class Env:
    """hvd and one hv booting the bundled guest; a report parsed at `ready`."""

    def __init__(self, hvd, hv, hvctl, vcpus=2, cmdline=None, name="guest", hv_args=()):
        self.hvd_bin, self.hv_bin, self.hvctl_bin = hvd, hv, hvctl
        self.hv_args = list(hv_args)
        self.vcpus, self.cmdline, self.name = vcpus, cmdline, name
        self.dir = tempfile.mkdtemp(prefix="hvctl-e2e-")
        self.rundir = os.path.join(self.dir, "run")
        self.console = os.path.join(self.dir, "console.log")
        self.hvd = self.hv = None
        self.records = []

    def start_hvd(self):
        self.hvd_log = open(os.path.join(self.dir, "hvd.log"), "ab")
        self.hvd = subprocess.Popen([self.hvd_bin, "--rundir", self.rundir], stdout=self.hvd_log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        sock = os.path.join(self.rundir, "hvd.sock")
        for _ in range(200):
            if os.path.exists(sock):
                return
            if self.hvd.poll() is not None:
                raise RuntimeError("hvd exited with %d: %s" % (self.hvd.returncode, self.log("hvd.log")))
            time.sleep(0.02)
        raise RuntimeError("hvd did not create %s" % sock)

    def start(self, timeout=60):
        self.start_hvd()
        cmd = [self.hv_bin, "run", "--rundir", self.rundir, "--vcpus", str(self.vcpus), "--name", self.name,
               "--console", self.console]
        if self.cmdline is not None:
            cmd += ["--cmdline", self.cmdline]
        cmd += self.hv_args
        self.hv_log = open(os.path.join(self.dir, "hv.log"), "ab")
        self.hv = subprocess.Popen(cmd, stdout=self.hv_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + timeout
        while time.time() < deadline:
            text = open(self.console, errors="replace").read() if os.path.exists(self.console) else ""
            at = text.find("\nhvk ready ")
            if at >= 0 and "\n" in text[at + 1:]:
                # the report is complete at `ready`; later lines may be half written
                self.records = check_report.parse(text[:text.index("\n", at + 1)])
                break
            if self.hv.poll() is not None:
                raise RuntimeError("hv exited with %d: %s" % (self.hv.returncode, self.log("hv.log")))
            time.sleep(0.05)
        else:
            raise RuntimeError("the guest never printed 'hvk ready'")
        while time.time() < deadline:   # registered with hvd?
            a = self.api()
            vms = a.ret("query-vms")
            a.close()
            if any(v["name"] == self.name and v["state"] != "gone" for v in vms):
                return self
            time.sleep(0.05)
        raise RuntimeError("hv never registered with hvd: %s" % self.log("hv.log"))

    def log(self, name):
        try:
            return open(os.path.join(self.dir, name), errors="replace").read()[-2000:]
        except OSError:
            return ""

    def api(self):
        return Api(os.path.join(self.rundir, "hvd.sock"))

    def of(self, _kind, **match):
        return [r for r in self.records if r.kind == _kind and all(r.get(k) == v for k, v in match.items())]

    def hvctl(self, *args, timeout=60):
        """(exit code, stdout, stderr) of hvctl against this setup."""
        p = subprocess.run([self.hvctl_bin, "--rundir", self.rundir, "--color=never"] + [str(a) for a in args],
                           capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def hvctl_json(self, *args):
        code, out, err = self.hvctl("--json", *args)
        try:
            return code, json.loads(out) if out.strip() else None, err
        except ValueError:
            raise AssertionError("hvctl --json %s printed no JSON: %r %r" % (" ".join(map(str, args)), out, err))

    def stop(self):
        for p in (self.hv, self.hvd):
            if p and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

"""hvdtest.py -- shared helpers of the hvd tests: start hvd and hv in a
temporary runtime directory, a line-oriented API client, and JSON Schema
checks of real replies against schemas/<command>.json."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings

import jsonschema


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


# ---- schemas -----------------------------------------------------------------

class Schemas:
    """Every schemas/*.json, cross-references resolved by $id."""

    def __init__(self, sdir):
        self.dir = sdir
        self.docs = {}
        for name in sorted(os.listdir(sdir)):
            if name.endswith(".json"):
                with open(os.path.join(sdir, name)) as f:
                    self.docs[name[:-5]] = json.load(f)
        store = {d["$id"]: d for d in self.docs.values()}
        self.v = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            for name, doc in self.docs.items():
                cls = jsonschema.validators.validator_for(doc)
                cls.check_schema(doc)
                self.v[name] = (cls, jsonschema.RefResolver.from_schema(doc, store=store))

    def _validate(self, name, schema, obj, what):
        cls, resolver = self.v[name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            errs = sorted(cls(schema, resolver=resolver).iter_errors(obj), key=lambda e: list(e.path))
        if errs:
            e = errs[0]
            raise Fail("%s does not match %s: %s at %s" % (what, name, e.message[:300], list(e.absolute_path)))

    def check(self, name, obj, what=None):
        """Validate obj against the whole schema `name`."""
        self._validate(name, self.docs[name], obj, what or name)

    def check_def(self, name, part, obj, what=None):
        """Validate obj against $defs/<part> of schema `name` (arguments, return)."""
        self._validate(name, {"$ref": "#/$defs/" + part}, obj, what or "%s %s" % (name, part))


# ---- processes ---------------------------------------------------------------

class Env:
    """A temporary runtime directory with the hvd and hv binaries."""

    def __init__(self, hvd_bin, hv_bin=None, keep=False):
        self.hvd_bin, self.hv_bin = hvd_bin, hv_bin
        self.dir = tempfile.mkdtemp(prefix="hvd-test-")
        self.rundir = os.path.join(self.dir, "run")
        self.sock = os.path.join(self.rundir, "hvd.sock")
        self.procs = []
        self.keep = keep
        self.hvd = None

    def start_hvd(self, wait=True):
        log = open(os.path.join(self.dir, "hvd.log"), "ab")
        p = subprocess.Popen([self.hvd_bin, "--rundir", self.rundir], stdout=log, stderr=log)
        self.procs.append(p)
        self.hvd = p
        if wait:
            deadline = time.time() + 10
            while time.time() < deadline:
                check(p.poll() is None, "hvd exited at start: " + self.hvd_log())
                try:
                    Client(self.sock).close()
                    break
                except OSError:
                    time.sleep(0.02)
            else:
                raise Fail("hvd did not listen within 10 s")
        return p

    def start_hv(self, name, vcpus=2, extra=()):
        log = open(os.path.join(self.dir, "hv-%s.log" % name), "ab")
        con = os.path.join(self.dir, "console-%s.txt" % name)
        p = subprocess.Popen([self.hv_bin, "run", "--rundir", self.rundir, "--name", name,
                              "--vcpus", str(vcpus), "--console", con] + list(extra),
                             stdout=log, stderr=log)
        self.procs.append(p)
        return p

    def logs(self):
        """hvd's log tail, and each hv's log and exit status."""
        out = ["hvd log (tail):", self.hvd_log()]
        for name in sorted(os.listdir(self.dir)):
            if name.startswith("hv-"):
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    out += ["%s:" % name, f.read()[-2000:]]
        out.append("exit statuses: %r" % [p.poll() for p in self.procs])
        return "\n".join(out)

    def hvd_log(self):
        try:
            with open(os.path.join(self.dir, "hvd.log"), errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def wait_vm(self, c, name, state="running", timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = c.call("query-vms")
            for vm in r.get("return", []):
                if vm["name"] == name and vm["state"] == state:
                    return vm
            time.sleep(0.05)
        raise Fail("VM %s not %s within %d s; hvd log:\n%s" % (name, state, timeout, self.hvd_log()))

    def wait_guest_tables(self, c, vm, vcpus=(0,), timeout=20):
        """Wait until the guest runs on its own page tables on each of vcpus
        (user ranges show in their maps; before, a vCPU may still be on the
        boot tables); returns the maps result of the first."""
        deadline = time.time() + timeout
        first = None
        for v in vcpus:
            while True:
                r = c.call("maps", {"vm": vm, "vcpu": v})
                check("return" in r, "maps of %s failed: %r" % (vm, r))
                if any(x["rights"]["user"] for x in r["return"]["ranges"]):
                    first = first or r["return"]
                    break
                check(time.time() < deadline, "%s vCPU %d built no user mapping within %d s" % (vm, v, timeout))
                time.sleep(0.1)
        return first

    def stop_hvd(self):
        """SIGTERM the current hvd: it must exit 0 after a clean shutdown,
        with no sanitizer report (leaks included) in its log."""
        self.hvd.send_signal(signal.SIGTERM)
        try:
            rc = self.hvd.wait(timeout=20)
        except subprocess.TimeoutExpired:
            raise Fail("hvd did not stop within 20 s of SIGTERM")
        log = self.hvd_log()
        check(rc == 0, "hvd exited %d on SIGTERM:\n%s" % (rc, log))
        check("Sanitizer" not in log and "runtime error" not in log, "sanitizer report:\n" + log)
        check(not os.path.exists(self.sock), "hvd left its socket behind")

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


class Client:
    """One API connection: reads the greeting, then one request, one reply."""

    def __init__(self, path, timeout=30):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""
        self.greeting = self.read()

    def send_raw(self, data):
        self.s.sendall(data)

    def read(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise Fail("hvd closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            raise Fail("hvd sent a line that is not JSON: %r" % line[:200])

    def call(self, execute, arguments=None, id=None):
        req = {"execute": execute}
        if arguments is not None:
            req["arguments"] = arguments
        if id is not None:
            req["id"] = id
        self.send_raw(json.dumps(req).encode() + b"\n")
        return self.read()

    def close(self):
        self.s.close()


def main(fn):
    """Run fn(argv) as a test program: exit 0 on success, 1 with a message."""
    sys.setrecursionlimit(20000)   # replies echo ids nested 1024 deep
    try:
        fn(sys.argv[1:])
    except Fail as e:
        print("FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
    print("PASS")

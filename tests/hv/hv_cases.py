#!/usr/bin/env python3
"""hv_cases.py -- runs hv over the case table in tests/data/hv/cases.txt and
checks each exit status, stderr and console output against the table."""
import argparse
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time

TIMEOUT = 60


def parse_cases(path):
    cases = []
    for lineno, raw in enumerate(open(path, encoding="utf-8"), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        cols = [c.strip() for c in line.split("|")]
        if len(cols) != 5:
            sys.exit(f"{path}:{lineno}: expected 5 columns, got {len(cols)}")
        name, args, status, err_re, out_re = cols
        cases.append((name, args, int(status), err_re, out_re))
    return cases


def patterns(col):
    return [p.strip() for p in col.split(" && ") if p.strip()] if col else []


def run_case(hv, kernels, tmp, case):
    name, args, want_status, err_re, out_re = case
    mode = None
    if args.startswith("@"):
        mode, _, args = args.partition(" ")
    console = os.path.join(tmp, f"{name}.console")
    subst = {
        "console": console,
        "empty": os.path.join(tmp, "empty"),
        "text": os.path.join(tmp, "text"),
        "long_cmdline": "x" * 4096,
    }

    def expand(tok):
        def one(m):
            key = m.group(1)
            if key.startswith("mk_"):
                return os.path.join(kernels, key)
            return subst[key]
        return re.sub(r"\{(\w+)\}", one, tok)

    argv = [hv] + [expand(t) for t in shlex.split(args)]
    preexec = None
    if mode == "@nobody":
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + argv
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=preexec)
    if mode in ("@sigterm", "@sigint"):
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM if mode == "@sigterm" else signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return [f"hv did not finish within {TIMEOUT}s (it must never hang)"]
    out, err = out.decode(errors="replace"), err.decode(errors="replace")
    if "{console}" in args:
        out = open(console, encoding="utf-8", errors="replace").read() if os.path.exists(console) else ""
    problems = []
    if proc.returncode != want_status:
        problems.append(f"exit status {proc.returncode}, expected {want_status}")
    for p in patterns(err_re):
        if not re.search(p, err, re.M):
            problems.append(f"stderr does not match /{p}/")
    for p in patterns(out_re):
        if not re.search(p, out, re.M):
            problems.append(f"console does not match /{p}/")
    if problems:
        problems.append("argv: " + " ".join(shlex.quote(a) for a in argv[:12]))
        problems.append("stderr:\n" + err[-3000:])
        problems.append("stdout:\n" + out[-2000:])
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hv", required=True)
    ap.add_argument("--kernels", required=True)
    ap.add_argument("--cases", required=True)
    ap.add_argument("--only", help="run only cases whose name contains this")
    a = ap.parse_args()
    cases = parse_cases(a.cases)
    if a.only:
        cases = [c for c in cases if a.only in c[0]]
    if not cases:
        sys.exit("no cases selected")
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        open(os.path.join(tmp, "empty"), "w").close()
        with open(os.path.join(tmp, "text"), "w") as f:
            f.write("this is not a kernel\n" * 10)
        for case in cases:
            t0 = time.monotonic()
            problems = run_case(a.hv, a.kernels, tmp, case)
            dt = time.monotonic() - t0
            if problems:
                failed += 1
                print(f"FAIL {case[0]} ({dt:.1f}s)")
                for p in problems:
                    print("    " + p.replace("\n", "\n    "))
            else:
                print(f"ok   {case[0]} ({dt:.1f}s)")
    print(f"{len(cases) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

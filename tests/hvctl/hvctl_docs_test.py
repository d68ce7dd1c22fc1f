#!/usr/bin/env python3
"""hvctl_docs_test.py -- the man page and the bash completion cover what
hvctl --help says: every command, every option of every command, every
exit status; the completion completes commands and options in a real bash.

  hvctl_docs_test.py --hvctl HVCTL --man docs/man/hvctl.1 --completion cli/completion/hvctl.bash
"""
import argparse
import re
import subprocess
import sys

failures = []


def expect(cond, msg):
    if not cond:
        failures.append(msg)


def run(*args):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout


def complete(comp, hvctl_dir, words, env_extra=""):
    """What the completion function offers for the command line `words`
    (the last word is the one being completed)."""
    script = """
set -e
PATH=%s:$PATH
%s
source %s
COMP_WORDS=(%s)
COMP_CWORD=%d
_hvctl
printf '%%s\\n' "${COMPREPLY[@]}"
""" % (hvctl_dir, env_extra, comp, " ".join("'%s'" % w for w in words), len(words) - 1)
    p = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30)
    return set(p.stdout.split())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hvctl", required=True)
    ap.add_argument("--man", required=True)
    ap.add_argument("--completion", required=True)
    a = ap.parse_args()
    man = open(a.man).read().replace("\\-", "-")
    comp = open(a.completion).read()
    code, top = run(a.hvctl, "--help")
    expect(code == 0, "hvctl --help exit %d" % code)
    cmds = re.findall(r"^  (\w+)\s{2,}", top.split("Commands:")[1].split("Global options:")[0], re.M)
    expect(set(cmds) >= {"list", "walk", "maps", "stack", "regs", "x"}, "commands in --help: %r" % cmds)
    for c in cmds:
        expect(re.search(r"^\.SS %s\b" % re.escape(c), man, re.M), "man page has no section for '%s'" % c)
        expect(re.search(r"\b%s\b" % re.escape(c), comp.split("local cmds=")[1].split("\n")[0]),
               "completion lacks command %s" % c)
        code, h = run(a.hvctl, c, "--help")
        expect(code == 0, "hvctl %s --help exit %d" % (c, code))
        for opt in sorted(set(re.findall(r"(--[a-z][a-z0-9-]*)", h))):
            expect(opt in man, "man page lacks %s (of %s)" % (opt, c))
            offered = complete(a.completion, "/nonexistent", ["hvctl", c, opt[:4]])
            expect(opt in offered, "completion of 'hvctl %s %s' lacks %s (offers %s)" % (c, opt[:4], opt, sorted(offered)))
    for opt in sorted(set(re.findall(r"^  (--[a-z-]+)", top.split("Global options:")[1], re.M))):
        expect(opt in man, "man page lacks global option %s" % opt)
    codes = re.findall(r"^  (\d+)  ", top.split("Exit status:")[1], re.M)
    expect(len(codes) >= 7, "exit statuses in --help: %r" % codes)
    for c in codes:
        expect(re.search(r"^\.B %s$" % c, man, re.M), "man page lacks exit status %s" % c)
    expect(complete(a.completion, "/nonexistent", ["hvctl", "wa"]) == {"walk"}, "'hvctl wa' does not complete to walk")
    expect(complete(a.completion, "/nonexistent", ["hvctl", "--rundir", "/tmp", "st"]) == {"stack"},
           "a global option with a value confuses the completion")
    expect(complete(a.completion, "/nonexistent", ["hvctl", "walk", "--access", ""]) == {"r", "w", "x"},
           "--access values")
    # VM names come from `hvctl list --names`: a stand-in hvctl proves the call and its arguments
    fake = """hvctl() { [ "$1 $2 $3 $4 $5 $6" = "--rundir /r --timeout 2 list --names" ] && printf 'alpha\\nbeta\\n'; }"""
    got = complete(a.completion, "/nonexistent", ["hvctl", "--rundir", "/r", "regs", "--vm", ""], fake)
    expect(got == {"alpha", "beta"}, "--vm completion offers %r" % sorted(got))
    if failures:
        for f in failures:
            print("FAIL:", f)
        return 1
    print("hvctl_docs: %d commands, man page and completion agree with --help" % len(cmds))
    return 0


if __name__ == "__main__":
    sys.exit(main())

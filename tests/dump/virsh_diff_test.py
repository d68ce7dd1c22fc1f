#!/usr/bin/env python3
"""virsh_diff_test.py -- differential test of hvctl --core on a dump made by
`virsh dump --memory-only --format=elf`, against a real libvirt.

The test starts its own privileged libvirtd (qemu:///system) and leaves the
host alone: the daemon runs in a private mount namespace with tmpfs over
/run and /var, its own /etc/libvirt (libvirtd.conf, qemu.conf) and its
sockets in the work directory, where virsh reaches them with
qemu+unix:///system?socket=... ; and in a private PID namespace, so that
nothing it started outlives the test, even one killed by SIGKILL. It then
  * creates a transient domain of type 'qemu' (TCG) that direct-boots the
    guest ELF (<os><kernel>), COM1 to a file; waits for the ready line;
  * `virsh suspend`, reads `info mem` / `info registers` through
    `virsh qemu-monitor-command --hmp`, `virsh dump --memory-only
    --format=elf`;
  * runs corediff.py's checks (shared with qemu_diff_test.py): hvctl maps
    --core against `info mem`, hvctl walk --core against `gva2gpa`;
  * destroys the domain and stops the daemon, on failure too.
It fails (never skips) when libvirt is missing or cannot start.

What a stock Debian 12 install would provide and this private daemon lacks,
and how the test makes up for it (docs/post-mortem.md has the story):
  * no libvirt-daemon-system (it pulls in systemd, iptables, a default
    network): so no libvirt-qemu user. libvirtd looks that user up before it
    reads qemu.conf and refuses to start the QEMU driver without it, so when
    the host has none the namespace gets a copy of /etc/passwd and
    /etc/group with one added. QEMU then runs as libvirt-qemu, as on a real
    install, and dynamic ownership chowns the kernel (a copy in the work
    directory) to it.
  * no virtlogd (systemd socket-activates it): stdio_handler = "file".
  * no systemd-machined: cgroup_controllers = [] so that libvirtd does not
    create /sys/fs/cgroup/*/machine on the host.
  * /dev/kvm here is root-only 0600 (no udev rule giving group kvm access):
    libvirt then finds its cached capabilities stale on every lookup ("KVM
    was enabled when probing, but it is not available now") and re-probes
    QEMU about 20 times per `virsh create` (45 s). The domain is TCG anyway,
    so /dev/kvm is hidden in the namespace (an unreadable empty file), and
    namespaces = [] (libvirt's per-domain /dev would try to move that mount).
  * security_driver = "none": no AppArmor/SELinux profile for QEMU (DAC
    labelling, i.e. dynamic ownership, still applies)."""
import argparse
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corediff  # noqa: E402
import hvschema  # noqa: E402

TOOLS = {"libvirtd": "libvirt-daemon libvirt-daemon-driver-qemu",
         "virsh": "libvirt-clients", "unshare": "util-linux",
         "qemu-system-x86_64": "qemu-system-x86"}

LIBVIRTD_CONF = """\
unix_sock_dir = "{w}/sock"
unix_sock_rw_perms = "0700"
unix_sock_ro_perms = "0700"
unix_sock_admin_perms = "0700"
log_outputs = "3:file:{w}/libvirtd.log"
"""

QEMU_CONF = """\
stdio_handler = "file"
cgroup_controllers = [ ]
security_driver = "none"
namespaces = [ ]
"""

# Runs as root inside `unshare --mount --pid --fork --mount-proc`: nothing
# mounted here is seen outside, and this shell is PID 1 of a PID namespace,
# so when it dies, however it dies, the kernel kills libvirtd and every QEMU
# it started. It reaps the daemonized QEMUs that get reparented to it (a
# zombie QEMU makes `virsh destroy` hang) and passes SIGTERM on to libvirtd.
NS_SCRIPT = """\
set -eu
W="$1"
echo $$ > "$W/init.pid"  # 1 here: only for the record
mount -t tmpfs -o mode=0755 hvkit-run /run
mount -t tmpfs -o mode=0755 hvkit-var /var
ln -s /run /var/run
mkdir -m 1777 /var/tmp
mount --bind "$W/etc" /etc/libvirt
if [ -e /dev/kvm ]; then
    : > "$W/nokvm" && chmod 0 "$W/nokvm" && mount --bind "$W/nokvm" /dev/kvm
fi
cp /etc/passwd "$W/passwd"; cp /etc/group "$W/group"
getent group libvirt-qemu >/dev/null ||
    echo 'libvirt-qemu:x:64055:' >> "$W/group"
getent passwd libvirt-qemu >/dev/null ||
    echo 'libvirt-qemu:x:64055:64055:hvkit test:/var/lib/libvirt:/usr/sbin/nologin' >> "$W/passwd"
mount --bind "$W/passwd" /etc/passwd
mount --bind "$W/group" /etc/group
libvirtd -f "$W/etc/libvirtd.conf" -p "$W/libvirtd.pid" &
d=$!
trap 'kill -TERM $d 2>/dev/null || :' TERM INT HUP
set +e
while kill -0 $d 2>/dev/null; do wait $d; done
"""

DOMAIN_XML = """\
<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>{mem}</memory>
  <vcpu>{vcpus}</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{kernel}</kernel>
    <cmdline>{cmdline}</cmdline>
  </os>
  <cpu mode='maximum'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>{qemu}</emulator>
    <serial type='file'><source path='{serial}'/><target port='0'/></serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
"""


def xml_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;")


class Virsh:
    def __init__(self, uri, domain):
        self.uri, self.domain = uri, domain

    def run(self, *args, timeout=120, check=True):
        p = subprocess.run(["virsh", "-q", "-c", self.uri] + list(args),
                           capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError("virsh %s: exit %d: %s" % (" ".join(args), p.returncode,
                                                          (p.stderr or p.stdout).strip()))
        return p

    def hmp(self, line):
        return self.run("qemu-monitor-command", "--hmp", self.domain, line).stdout

    def gva2gpa_many(self, vas, chunk=400):
        """gva2gpa for many addresses, one virsh process per chunk: virsh runs
        `cmd1 ; cmd2 ...` given as one argument (a chunk stays far below
        the kernel's 128 KiB limit on one argument); an `echo` after each
        marks where its reply ends."""
        out = {}
        for i in range(0, len(vas), chunk):
            part = vas[i:i + chunk]
            script = " ; ".join("qemu-monitor-command --hmp %s 'gva2gpa 0x%x' ; echo @@hvk@@"
                                % (self.domain, va) for va in part)
            p = self.run(script, timeout=600)
            replies = p.stdout.split("@@hvk@@")
            if len(replies) != len(part) + 1 or p.stderr.strip():
                raise RuntimeError("virsh gva2gpa batch: %d replies for %d addresses: %s\n%s"
                                   % (len(replies) - 1, len(part), p.stderr.strip()[:2000],
                                      p.stdout[:1000]))
            for va, r in zip(part, replies):
                out[va] = corediff.parse_gva2gpa(va, r)
        return out


def die_with_parent():
    """In the child: SIGKILL when the test dies, even by SIGKILL."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def stop(daemon, virsh):
    """Destroy the domain, then end the namespace: SIGTERM to its init (the
    shell), which passes it to libvirtd; SIGKILL to the init if that takes
    too long, which kills everything inside. Never raises."""
    if daemon.poll() is None:
        try:
            virsh.run("destroy", virsh.domain, check=False, timeout=60)
        except (OSError, subprocess.SubprocessError) as e:
            print("cleanup: virsh destroy: %s" % e)
    init = None
    try:
        with open("/proc/%d/task/%d/children" % (daemon.pid, daemon.pid)) as f:
            init = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        pass
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 30)):
        if daemon.poll() is not None:
            break
        try:
            os.kill(init if init else daemon.pid, sig)
        except OSError:
            pass
        try:
            daemon.wait(wait)
        except subprocess.TimeoutExpired:
            print("cleanup: the libvirt namespace did not end within %ds of %s" % (wait, sig.name))
    if daemon.poll() is None:
        daemon.kill()  # unshare: --kill-child takes the namespace down
        daemon.wait()


def check_vcpus(hvctl, val, core, vcpus, ready_re, console):
    """The dump holds one CPU note pair per vCPU of the domain: hvctl finds
    vCPU vcpus-1 and refuses vCPU vcpus (exit 4). A vCPU the guest did not
    bring online (its ready line's cpus=; under QEMU a PVH boot starts only
    the BSP and the others wait for a SIPI) is in its reset state: paging
    off."""
    failures = []
    m = re.search(ready_re + r".*?\bcpus=(\d+)", console, re.M)
    online = int(m[1]) if m else None
    for i in range(vcpus + 1):
        p = subprocess.run([hvctl, "--json", "walk", "--core", core, "--vcpu", str(i), "0x1000"],
                           capture_output=True, text=True, timeout=60)
        if i == vcpus:
            if p.returncode != 4:
                failures.append("hvctl walk --vcpu %d (one past the last): exit %d, want 4 (%s)"
                                % (i, p.returncode, p.stderr.strip()))
            continue
        if p.returncode not in (0, 1):
            failures.append("hvctl walk --vcpu %d: exit %d: %s" % (i, p.returncode, p.stderr.strip()))
            continue
        w = json.loads(p.stdout)
        hvschema.check(val, "walk-result.json", w, "walk --vcpu %d" % i)
        if online is not None and (w["mode"] == "off") != (i >= online):
            failures.append("vCPU %d: mode %s, but the guest has %d vCPU(s) online"
                            % (i, w["mode"], online))
    return failures


def tail(path, n=3000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:]
    except OSError as e:
        return "(%s)" % e


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hvctl", required=True)
    ap.add_argument("--schemas", required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--append", default="")
    ap.add_argument("--ready", default=r"^ready\b", help="regex for the guest's ready line")
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("--mem", default="128", help="MiB")
    ap.add_argument("--vcpus", type=int, default=1)
    ap.add_argument("--daemon-timeout", type=float, default=60)
    ap.add_argument("--boot-timeout", type=float, default=120)
    ap.add_argument("--max-pages", type=int, default=1500, help="cap on mapped pages checked")
    ap.add_argument("--per-range", type=int, default=48)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()

    def on_signal(sig, frame):
        raise SystemExit("FAIL: killed by signal %d" % sig)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, on_signal)

    t0 = time.monotonic()
    missing = ["%s (Debian: %s)" % (t, pkg) for t, pkg in TOOLS.items() if not shutil.which(t)]
    if missing:
        print("FAIL: libvirt test: not found: " + ", ".join(missing))
        return 1
    if os.geteuid() != 0:
        print("FAIL: libvirt test: needs root (a private privileged libvirtd in a mount namespace)")
        return 1
    qemu = shutil.which(a.qemu)
    if not qemu:
        print("FAIL: %s not found" % a.qemu)
        return 1
    val = hvschema.load(a.schemas)

    # Not under /run or /var: the namespace mounts tmpfs over them.
    tmpdir = tempfile.gettempdir()
    if re.match(r"/(run|var)(/|$)", os.path.realpath(tmpdir)):
        tmpdir = "/tmp"
    w = tempfile.mkdtemp(prefix="hvkit-virsh-diff-", dir=tmpdir)
    os.chmod(w, 0o755)  # QEMU runs as libvirt-qemu and opens the kernel here
    for d in ("etc", "sock"):
        os.mkdir(os.path.join(w, d))
    with open(os.path.join(w, "etc", "libvirtd.conf"), "w") as f:
        f.write(LIBVIRTD_CONF.format(w=w))
    with open(os.path.join(w, "etc", "qemu.conf"), "w") as f:
        f.write(QEMU_CONF)
    with open(os.path.join(w, "ns.sh"), "w") as f:
        f.write(NS_SCRIPT)
    kernel = os.path.join(w, "kernel.elf")  # libvirt chowns it: not the build's file
    shutil.copyfile(a.kernel, kernel)
    serial, core, dlog = (os.path.join(w, n) for n in ("serial.log", "guest.core", "libvirtd.log"))
    name = "hvkit-dump-%d" % os.getpid()
    with open(os.path.join(w, "domain.xml"), "w") as f:
        f.write(DOMAIN_XML.format(name=name, mem=int(a.mem), vcpus=a.vcpus, qemu=xml_escape(qemu),
                                  kernel=xml_escape(kernel), cmdline=xml_escape(a.append),
                                  serial=xml_escape(serial)))
    virsh = Virsh("qemu+unix:///system?socket=%s/sock/libvirt-sock" % w, name)

    # unshare forks sh (PID 1 of the new PID namespace); sh starts libvirtd.
    # --kill-child: should unshare be killed, its child gets SIGKILL, which
    # takes the whole namespace down.
    daemon = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "--pid",
                               "--fork", "--mount-proc", "--kill-child=SIGKILL",
                               "sh", os.path.join(w, "ns.sh"), w],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True, preexec_fn=die_with_parent)
    failures = []
    try:
        # Up when the socket answers; the first connection waits for the QEMU
        # driver to probe the emulator's capabilities.
        deadline = time.monotonic() + a.daemon_timeout
        err = ""
        while True:
            if daemon.poll() is not None:
                err = "libvirtd exited with status %s" % daemon.returncode
                break
            if os.path.exists(os.path.join(w, "sock", "libvirt-sock")):
                p = virsh.run("uri", check=False, timeout=max(deadline - time.monotonic(), 1))
                if p.returncode == 0:
                    err = ""
                    break
                err = p.stderr.strip()
            if time.monotonic() >= deadline:
                err = "no answer within %gs: %s" % (a.daemon_timeout, err)
                break
            time.sleep(0.2)
        if err:
            out = daemon.stdout.read().decode(errors="replace") if daemon.poll() is not None else ""
            print("FAIL: libvirt: could not start a private libvirtd: %s\n--- output ---\n%s"
                  "\n--- libvirtd.log ---\n%s" % (err, out[-2000:], tail(dlog)))
            return 1
        t_daemon = time.monotonic() - t0

        p = virsh.run("create", os.path.join(w, "domain.xml"), check=False, timeout=120)
        if p.returncode != 0:
            print("FAIL: libvirt: virsh create: %s\n--- libvirtd.log ---\n%s"
                  % (p.stderr.strip(), tail(dlog)))
            return 1
        t_create = time.monotonic() - t0

        def alive():
            return virsh.run("domstate", name, check=False).stdout.strip() == "running"

        text, ok = corediff.wait_for_line(serial, a.ready, a.boot_timeout, alive)
        if not ok:
            qlog = "/proc/%d/root/var/log/libvirt/qemu/%s.log" % (daemon.pid, name)
            print("FAIL: guest not ready (domain %s)\n--- serial ---\n%s\n--- qemu log ---\n%s"
                  % (virsh.run("domstate", name, check=False).stdout.strip(), text[-4000:],
                     tail(qlog, 2000)))
            return 1
        t_ready = time.monotonic() - t0

        virsh.run("suspend", name)
        info_mem = virsh.hmp("info mem")
        regs = virsh.hmp("info registers")
        virsh.run("dump", "--memory-only", "--format=elf", name, core, timeout=120)
        failures, summary = corediff.compare(a.hvctl, val, core, info_mem, regs,
                                             virsh.gva2gpa_many, a.max_pages, a.per_range)
        failures += check_vcpus(a.hvctl, val, core, a.vcpus, a.ready, text)
        print(summary)
        print("libvirtd up %.1fs, domain created %.1fs, guest ready %.1fs, done %.1fs"
              % (t_daemon, t_create, t_ready, time.monotonic() - t0))
    finally:
        stop(daemon, virsh)
        if not a.keep:
            shutil.rmtree(w, ignore_errors=True)
        else:
            print("work directory kept:", w)
    for f in failures[:50]:
        print("FAIL:", f)
    if failures:
        print("%d failures" % len(failures))
        return 1
    print("virsh_diff: hvctl agrees with QEMU on a virsh dump")
    return 0


if __name__ == "__main__":
    sys.exit(main())

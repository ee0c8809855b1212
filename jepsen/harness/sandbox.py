"""Privilege checks, the throwaway sandbox every run lives in, and small process helpers.

Every namespace a run makes lives inside `unshare --pid --fork --kill-child --mount`: a new
PID namespace (when its first process dies, the kernel kills every process in it: kvd,
clients, delayers) and a private mount namespace whose /run/netns is a fresh tmpfs (so the
named network namespaces are bind mounts that vanish with it). Whatever happens to the
harness, even SIGKILL, nothing it made outlives it, and the root namespace's network is
never touched (jepsen-notes section 4, "Cleanup on crash").
"""
import os
import shutil
import subprocess
import sys
import time

SKIP = 77          # CTest's SKIP_RETURN_CODE: the machine cannot make namespaces
INSIDE_ENV = "KV_JEPSEN_SANDBOX"


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def sh(args, check=True, input=None, timeout=30):
    """Runs a command (a list); returns CompletedProcess. Bounded by `timeout` seconds; with
    `check`, a non-zero exit raises RuntimeError with the command's stderr."""
    try:
        r = subprocess.run(args, input=input, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"timed out after {timeout}s: {' '.join(args)}")
    if check and r.returncode != 0:
        raise RuntimeError(f"failed ({r.returncode}): {' '.join(args)}\n{r.stderr.strip()}")
    return r


def why_no_namespaces():
    """None when this process can build the topology; else the reason (for a skip)."""
    if os.geteuid() != 0:
        return "not root: network namespaces, nftables and kill of other users' processes need root"
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            return f"'{tool}' is missing"
    # A throwaway probe of exactly what a run does: a private mount namespace with a tmpfs
    # /run/netns, and a named network namespace in it (gone when the probe exits).
    script = ("mkdir -p /run/netns && mount -t tmpfs jepsen-probe /run/netns && ip netns add jprobe && "
              "ip -n jprobe link set lo up && ip netns del jprobe")
    probe = subprocess.run(["unshare", "--mount", "--pid", "--fork", "--propagation", "private", "sh", "-c", script],
                           capture_output=True, text=True, timeout=20)
    if probe.returncode != 0:
        return f"cannot create namespaces here: {probe.stderr.strip() or probe.returncode}"
    return None


def missing_tools(need_delay, need_clock, build_dir):
    """Tools a run needs that are not installed (tools/setup installs them): list of names."""
    out = []
    for tool in ("nft", "iptables"):
        if shutil.which(tool) is None:
            out.append(tool)
    for prog in ("kvd", "jepsen_client", "kvcheck"):
        if not os.access(os.path.join(build_dir, prog), os.X_OK):
            out.append(os.path.join(build_dir, prog))
    if need_delay and not os.access(os.path.join(build_dir, "nfq_delay"), os.X_OK):
        out.append(os.path.join(build_dir, "nfq_delay") + " (libnetfilter-queue-dev)")
    if need_clock and faketime_lib() is None:
        out.append("libfaketime")
    return out


def faketime_lib():
    for d in ("/usr/lib/x86_64-linux-gnu/faketime", "/usr/lib/aarch64-linux-gnu/faketime", "/usr/lib/faketime"):
        p = os.path.join(d, "libfaketime.so.1")
        if os.path.exists(p):
            return p
    return None


def enter_sandbox_or_continue(argv):
    """Re-executes this program inside the sandbox, unless already there. Returns only inside."""
    if os.environ.get(INSIDE_ENV) == "1":
        # PID 1 of the new PID namespace: mount our own /proc and a private /run/netns.
        os.makedirs("/run/netns", exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "jepsen-netns", "/run/netns"], check=True)
        return
    env = dict(os.environ)
    env[INSIDE_ENV] = "1"
    cmd = ["unshare", "--pid", "--fork", "--kill-child", "--mount", "--propagation", "private",
           "--mount-proc", sys.executable] + argv
    # exec, not a child: whoever kills us (CTest's timeout, ^C) kills unshare itself, and
    # --kill-child then takes the whole PID namespace down with it.
    sys.stdout.flush()
    os.execvpe("unshare", cmd, env)


def terminate(proc, grace=5.0):
    """SIGTERM, then SIGKILL after `grace` s; by the Popen's own PID, never by name."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass

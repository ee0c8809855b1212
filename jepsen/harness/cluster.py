"""kvd processes in the node namespaces, by PID: start, kill -9, restart, pause, and the
leader as the nodes report it. Each node has its own data dir and log under the run dir.
"""
import json
import os
import signal
import subprocess
import time

from .sandbox import sh, log, terminate, faketime_lib
from .topology import HUB, netns_exec, node_ip

PEER_PORT = 7000
CLIENT_PORT = 7100


class Cluster:
    def __init__(self, run_dir, build_dir, nodes, opts):
        self.run_dir = run_dir
        self.build_dir = build_dir
        self.nodes = list(nodes)
        self.opts = opts                # namespace from run.py: tick/election/unsafe/clock
        self.procs = {}                 # node -> Popen (None when killed)
        self.paused = set()
        self.logs = {}
        spec = ",".join(f"{n[1:]}={node_ip(n)}:{PEER_PORT}/{node_ip(n)}:{CLIENT_PORT}" for n in self.nodes)
        self.initial_cluster = spec
        self.clock_dir = os.path.join(run_dir, "clock")
        if opts.clock:
            os.makedirs(self.clock_dir, exist_ok=True)
            for n in self.nodes:
                self.set_clock(n, "+0s")

    def endpoints(self):
        return ",".join(f"{n}={node_ip(n)}:{CLIENT_PORT}" for n in self.nodes)

    def command(self, n):
        cmd = [os.path.join(self.build_dir, "kvd"), "--node-id", n[1:], "--initial-cluster", self.initial_cluster,
               "--data-dir", os.path.join(self.run_dir, "data", n), "--cluster-name", "jepsen",
               "--tick-ms", str(self.opts.tick_ms), "--election-ticks", str(self.opts.election_ticks),
               "--heartbeat-ticks", str(self.opts.heartbeat_ticks)]
        if self.opts.unsafe_stale_reads:
            cmd += ["--unsafe-stale-reads", "true"]
        if self.opts.clock:
            # Only the wall clock is faked; steady_clock stays real (jepsen-notes section 3).
            cmd = ["env", "LD_PRELOAD=" + faketime_lib(),
                   "FAKETIME_TIMESTAMP_FILE=" + self.clock_file(n), "FAKETIME_CACHE_DURATION=1",
                   "FAKETIME_DONT_FAKE_MONOTONIC=1"] + cmd
        return netns_exec(n, cmd)

    def start(self, n):
        os.makedirs(os.path.join(self.run_dir, "data", n), exist_ok=True)
        logf = open(os.path.join(self.run_dir, "logs", f"{n}.log"), "ab")
        logf.write(f"==== harness: start {n} at monotonic {time.monotonic():.3f}\n".encode())
        logf.flush()
        # ip netns exec and env both exec: the Popen's PID is kvd's own.
        self.procs[n] = subprocess.Popen(self.command(n), stdout=logf, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        logf.close()
        self.paused.discard(n)

    def start_all(self):
        for n in self.nodes:
            self.start(n)

    def alive(self, n):
        p = self.procs.get(n)
        return p is not None and p.poll() is None

    def kill(self, n):
        p = self.procs.get(n)
        if p is not None and p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(timeout=10)
        self.procs[n] = None
        self.paused.discard(n)

    def restart_dead(self):
        restarted = [n for n in self.nodes if not self.alive(n)]
        for n in restarted:
            self.start(n)
        return restarted

    def pause(self, n):
        if self.alive(n):
            os.kill(self.procs[n].pid, signal.SIGSTOP)
            self.paused.add(n)

    def resume(self, n):
        if self.alive(n):
            os.kill(self.procs[n].pid, signal.SIGCONT)
        self.paused.discard(n)

    def resume_all(self):
        for n in list(self.paused) + self.nodes:
            self.resume(n)

    def stop_all(self):
        self.resume_all()
        for n in self.nodes:
            terminate(self.procs.get(n), grace=5)

    # ---- clocks (libfaketime timestamp files, re-read once a second by each kvd)

    def clock_file(self, n):
        return os.path.join(self.clock_dir, f"{n}.faketime")

    def set_clock(self, n, offset):
        tmp = self.clock_file(n) + ".tmp"
        with open(tmp, "w") as f:
            f.write(offset + "\n")
        os.replace(tmp, self.clock_file(n))   # atomic: kvd never reads half a line

    def reset_clocks(self):
        if self.opts.clock:
            for n in self.nodes:
                self.set_clock(n, "+0s")

    # ---- what the nodes say

    def status(self, timeout_ms=700):
        """{node: dict from `jepsen_client status`}; unreachable nodes have ok=False."""
        cmd = netns_exec(HUB, [os.path.join(self.build_dir, "jepsen_client"), "status", "--nodes", self.endpoints(),
                               "--request-timeout-ms", str(timeout_ms)])
        try:
            r = sh(cmd, check=False, timeout=15)
        except RuntimeError:
            return {}
        out = {}
        for line in r.stdout.splitlines():
            try:
                j = json.loads(line)
                out[j["node"]] = j
            except (ValueError, KeyError):
                continue
        return out

    def leader(self):
        """The node that says it leads with the highest term, else the majority's hint, else None."""
        st = self.status()
        leaders = [s for s in st.values() if s.get("ok") and s.get("role") == "leader" and s["node"] not in self.paused]
        if leaders:
            return max(leaders, key=lambda s: s.get("term", 0))["node"]
        hints = [s.get("leader", 0) for s in st.values() if s.get("ok") and s.get("leader", 0) > 0]
        if hints:
            return "n" + str(max(set(hints), key=hints.count))
        return None

    def wait_for_leader(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ld = self.leader()
            if ld is not None:
                return ld
            time.sleep(0.5)
        return None

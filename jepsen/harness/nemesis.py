"""Nemeses: the faults, and Jepsen's default rhythm for them (quiet, fault, hold, heal,
repeat), bounded in time and in count. Every start and stop is written to the timeline
(nemesis.jsonl) on CLOCK_MONOTONIC, the clock of the client's history.

Packages (a run's --nemesis is one of them, several joined by '+', 'combined' or 'none'):
  partition  halves | isolate-one | isolate-leader | ring (majorities ring) | bridge | one-way
  kill       kill -9 then restart: one | leader | minority | majority | all
  pause      SIGSTOP then SIGCONT: one | leader | minority
  net        delay (nfq_delay, 50-200 ms +- jitter) | loss (nft numgen, 5-30%) | delay+loss
  clock      wall-clock offsets through libfaketime: bump (one node) | scramble (all) | strobe
"""
import json
import os
import subprocess
import threading
import time

from .sandbox import log, terminate
from .topology import netns_exec

PACKAGES = ("partition", "kill", "pause", "net", "clock")
KINDS = {
    "partition": ("halves", "isolate-one", "isolate-leader", "ring", "bridge", "one-way"),
    "kill": ("one", "leader", "minority", "majority", "all"),
    "pause": ("one", "leader", "minority"),
    "net": ("delay", "loss", "delay+loss"),
    "clock": ("bump", "scramble", "strobe"),
}


def parse_packages(spec):
    if spec in ("none", ""):
        return []
    if spec == "combined":
        return list(PACKAGES)
    out = spec.split("+")
    for p in out:
        if p not in PACKAGES:
            raise ValueError(f"unknown nemesis '{p}' (known: {', '.join(PACKAGES)}, combined, none)")
    return out


class Timeline:
    def __init__(self, path):
        self.f = open(path, "a")
        self.lock = threading.Lock()

    def event(self, f, value):
        with self.lock:
            e = {"t_ns": time.monotonic_ns(), "process": "nemesis", "type": "info", "f": f, "value": value}
            self.f.write(json.dumps(e) + "\n")
            self.f.flush()

    def close(self):
        self.f.close()


class Nemesis:
    def __init__(self, cluster, topo, run_dir, build_dir, rng, timeline, kinds=None):
        self.cluster, self.topo, self.rng, self.timeline = cluster, topo, rng, timeline
        self.kinds = kinds or KINDS
        self.run_dir, self.build_dir = run_dir, build_dir
        self.nodes = cluster.nodes
        self.active = None          # (package, description) of the fault in force
        self.delayers = []          # nfq_delay Popens
        self.strobe_stop = None
        self.strobe_thread = None

    # ---- choosing nodes

    def _pick(self, kind):
        nodes = list(self.nodes)
        self.rng.shuffle(nodes)
        if kind == "one":
            return nodes[:1]
        if kind == "leader":
            ld = self.cluster.leader()
            return [ld] if ld else nodes[:1]
        if kind == "minority":
            return nodes[:len(nodes) // 2]
        if kind == "majority":
            return nodes[:len(nodes) // 2 + 1]
        if kind == "all":
            return nodes
        raise ValueError(kind)

    def _grudge(self, kind):
        nodes = list(self.nodes)
        self.rng.shuffle(nodes)
        everyone = set(nodes)
        if kind in ("isolate-one", "isolate-leader"):
            lone = nodes[0]
            if kind == "isolate-leader":
                lone = self.cluster.leader() or lone
            rest = everyone - {lone}
            return {lone: rest, **{n: {lone} for n in rest}}, f"{lone} | {','.join(sorted(rest))}"
        if kind == "halves":
            a, b = set(nodes[:len(nodes) // 2]), set(nodes[len(nodes) // 2:])
            return {**{n: b for n in a}, **{n: a for n in b}}, f"{','.join(sorted(a))} | {','.join(sorted(b))}"
        if kind == "ring":
            # Each node sees itself and its two ring neighbours: a majority each, no two alike.
            k = len(nodes)
            g = {}
            for i, n in enumerate(nodes):
                sees = {nodes[(i - 1) % k], n, nodes[(i + 1) % k]}
                g[n] = everyone - sees
            return g, "ring " + "-".join(nodes)
        if kind == "bridge":
            half = len(nodes) // 2
            a, bridge, b = set(nodes[:half]), nodes[half], set(nodes[half + 1:])
            return ({**{n: b for n in a}, **{n: a for n in b}},
                    f"{','.join(sorted(a))} | {','.join(sorted(b))}, bridged by {bridge}")
        if kind == "one-way":
            # The minority stops hearing the majority; the majority still hears the minority.
            deaf = set(nodes[:len(nodes) // 2])
            return {n: everyone - deaf for n in deaf}, f"{','.join(sorted(deaf))} hear nobody else (one-way)"
        raise ValueError(kind)

    # ---- start / stop

    def start(self, package, hold_s, forced=None):
        """Starts one fault of `package`: a random kind on random (or the leader's) nodes, or
        exactly `forced`, the value of a "start" event from an earlier timeline (replay).
        Everything chosen is in the returned description, so the timeline can be replayed."""
        f = forced or {}
        kind = f.get("kind") or self.rng.choice(self.kinds[package])
        desc = {"fault": package, "kind": kind}
        if package == "partition":
            if "grudge" in f:
                grudge, text = {n: set(v) for n, v in f["grudge"].items()}, f.get("partition", "replayed")
            else:
                grudge, text = self._grudge(kind)
            self.topo.apply_grudge(grudge)
            desc["partition"] = text
            desc["grudge"] = {n: sorted(v) for n, v in sorted(grudge.items()) if v}
        elif package in ("kill", "pause"):
            targets = f.get("nodes") or self._pick(kind)
            for n in targets:
                (self.cluster.kill if package == "kill" else self.cluster.pause)(n)
            desc["nodes"] = targets
        elif package == "net":
            desc.update(self._start_net(kind, hold_s, f))
        elif package == "clock":
            desc.update(self._start_clock(kind, hold_s, f))
        self.active = (package, desc)
        self.timeline.event("start", desc)
        log(f"nemesis: start {json.dumps(desc)}")
        return desc

    def stop(self):
        if self.active is None:
            return None
        package, desc = self.active
        if package == "partition":
            self.topo.heal_partition()
        elif package == "kill":
            desc = dict(desc, restarted=self.cluster.restart_dead())
        elif package == "pause":
            self.cluster.resume_all()
        elif package == "net":
            self._stop_net()
        elif package == "clock":
            self._stop_clock()
        self.active = None
        ev = {"fault": package, "kind": desc["kind"]}
        if "restarted" in desc:
            ev["restarted"] = desc["restarted"]
        self.timeline.event("stop", ev)
        log(f"nemesis: stop {package}")
        return ev

    def heal_all(self):
        """Idempotent: whatever was done, undo it all (the end of every run, and on errors)."""
        self.stop()
        self._stop_net()
        self._stop_clock()
        self.topo.heal_all()
        self.cluster.resume_all()
        restarted = self.cluster.restart_dead()
        self.timeline.event("heal-all", {"restarted": restarted})
        log("nemesis: healed everything" + (f" (restarted {restarted})" if restarted else ""))

    # ---- net

    def _start_net(self, kind, hold_s, forced):
        out = {}
        if "delay" in kind:
            delay = forced.get("delay_ms") or self.rng.randint(50, 200)
            jitter = forced.get("jitter_ms", delay // 5)
            out.update(delay_ms=delay, jitter_ms=jitter)
            for n in self.nodes:
                logf = open(os.path.join(self.run_dir, "logs", f"nfq_delay-{n}.log"), "ab")
                # Bounded lifetime: it exits by itself even if nobody stops it.
                cmd = netns_exec(n, [os.path.join(self.build_dir, "nfq_delay"), "1", str(delay), str(jitter), "0",
                                     str(int(hold_s) + 30), str(self.rng.randint(0, 1 << 30))])
                self.delayers.append(subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT,
                                                      stdin=subprocess.DEVNULL))
                logf.close()
                self.topo.queue_output(n, 1)
        if "loss" in kind:
            pct = forced.get("loss_percent") or self.rng.randint(5, 30)
            out["loss_percent"] = pct
            self.topo.apply_loss(self.nodes, pct)
        return out

    def _stop_net(self):
        self.topo.heal_loss()
        for n in self.nodes:
            self.topo.unqueue_output(n)
        for p in self.delayers:
            terminate(p, grace=3)
        self.delayers = []

    # ---- clock

    def _start_clock(self, kind, hold_s, forced):
        if not self.cluster.opts.clock:
            raise RuntimeError("the clock nemesis needs kvd started under libfaketime (opts.clock)")
        def offset():
            s = self.rng.randint(1, 300) * self.rng.choice((-1, 1))
            return f"{s:+d}s"
        if kind in ("bump", "scramble"):
            offs = forced.get("offsets")
            if not offs:
                offs = {self.rng.choice(self.nodes): offset()} if kind == "bump" else {n: offset() for n in self.nodes}
            for n, o in offs.items():
                self.cluster.set_clock(n, o)
            return {"offsets": offs}
        # strobe: one node's clock jumps between +0 and an offset every 2 s while the fault holds.
        n, o = next(iter(forced["strobe"].items())) if forced.get("strobe") else (self.rng.choice(self.nodes), offset())
        self.strobe_stop = threading.Event()

        def strobe(stop=self.strobe_stop, node=n, off=o, limit=time.monotonic() + hold_s + 30):
            flip = False
            while not stop.wait(2.0) and time.monotonic() < limit:
                flip = not flip
                self.cluster.set_clock(node, off if flip else "+0s")
        self.strobe_thread = threading.Thread(target=strobe, daemon=True)
        self.strobe_thread.start()
        return {"strobe": {n: o}}

    def _stop_clock(self):
        if self.strobe_stop is not None:
            self.strobe_stop.set()
            self.strobe_thread.join(timeout=5)
            self.strobe_stop = self.strobe_thread = None
        self.cluster.reset_clocks()


def run_schedule(nemesis, packages, seconds, interval_s, hold_min_s, hold_max_s, rng, abort):
    """Jepsen's rhythm for `seconds`: quiet `interval_s`, a fault for a random hold, heal; at
    most seconds/interval cycles. `abort()` true (the client died) ends it early."""
    end = time.monotonic() + seconds
    max_cycles = int(seconds / max(interval_s, 1)) + 1

    def sleep_until(t):
        while time.monotonic() < t and not abort():
            time.sleep(min(0.5, max(0.0, t - time.monotonic())))

    for _ in range(max_cycles):
        sleep_until(min(end, time.monotonic() + interval_s))
        remaining = end - time.monotonic()
        if not packages or remaining < hold_min_s / 2 or abort():
            break
        hold = min(rng.uniform(hold_min_s, hold_max_s), remaining)
        nemesis.start(rng.choice(packages), hold)
        sleep_until(time.monotonic() + hold)
        nemesis.stop()
    sleep_until(end)


def recorded_faults(timeline_path):
    """[(start_s, stop_s, start-event value)] of an earlier run, relative to its main phase."""
    t0, out, open_fault = None, [], None
    with open(timeline_path) as f:
        for line in f:
            e = json.loads(line)
            if e["f"] == "phase" and e["value"].get("phase") == "main":
                t0 = e["t_ns"]
            elif t0 is not None and e["f"] == "start":
                open_fault = ((e["t_ns"] - t0) / 1e9, e["value"])
            elif t0 is not None and e["f"] in ("stop", "heal-all") and open_fault is not None:
                out.append((open_fault[0], (e["t_ns"] - t0) / 1e9, open_fault[1]))
                open_fault = None
    return out


def replay_schedule(nemesis, recorded, seconds, abort):
    """The faults of `recorded` (see recorded_faults), each at its recorded offset from now and
    for its recorded hold, on the same nodes; at most `seconds` in all."""
    t0 = time.monotonic()
    end = t0 + seconds

    def sleep_until(t):
        while time.monotonic() < min(t, end) and not abort():
            time.sleep(min(0.5, max(0.0, t - time.monotonic())))

    for start_s, stop_s, desc in recorded:
        sleep_until(t0 + start_s)
        if time.monotonic() >= end or abort():
            break
        nemesis.start(desc["fault"], stop_s - start_s, forced=desc)
        sleep_until(t0 + stop_s)
        nemesis.stop()
    sleep_until(end)

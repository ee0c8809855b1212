#!/usr/bin/python3
"""Fault-injection runs of a real kvd cluster, in the Jepsen tradition (jepsen/README.md).

  /usr/bin/python3 jepsen/run.py run --workload register|bank|append|set --nemesis SPEC [options]
  /usr/bin/python3 jepsen/run.py smoke      # CTest jepsen:smoke (about 3 minutes, fixed seed)
  /usr/bin/python3 jepsen/run.py teeth      # CTest jepsen:teeth: a weakened store MUST be caught
  /usr/bin/python3 jepsen/run.py long       # every workload x every nemesis, before releases
  /usr/bin/python3 jepsen/run.py replay jepsen/store/RUN   # the same run, the same faults

SPEC: partition, kill, pause, net, clock, several joined by '+', combined, or none.
Needs root. Exit: 0 valid, 1 invalid, 2 unknown, 3 harness error, 77 cannot make namespaces.
Each run leaves jepsen/store/<run>/ (git-ignored): history.jsonl, nemesis.jsonl, results.json,
latency.png, logs/, and a one-line summary (also appended to jepsen/store/summary.log).
"""
import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from harness import analysis, nemesis as nem, plot, sandbox  # noqa: E402
from harness.cluster import Cluster  # noqa: E402
from harness.sandbox import log  # noqa: E402
from harness.topology import HUB, Topology, netns_exec  # noqa: E402

WORKLOADS = ("register", "bank", "append", "set")
NODES = ["n1", "n2", "n3", "n4", "n5"]
SMOKE_SEED = 20261125
EXIT = {True: 0, False: 1, "unknown": 2, "error": 3}


def add_run_options(p):
    p.add_argument("--time-limit", type=float, default=60, help="seconds of ops under faults (default 60)")
    p.add_argument("--recovery", type=float, default=10, help="seconds of ops after the final heal (default 10)")
    p.add_argument("--seed", type=int, default=None, help="default: random (printed)")
    p.add_argument("--concurrency", type=int, default=10, help="client processes (default 10)")
    p.add_argument("--rate", type=float, default=100, help="ops/s over all processes (default 100)")
    p.add_argument("--interval", type=float, default=10, help="quiet seconds before each fault (default 10)")
    p.add_argument("--hold-min", type=float, default=10, help="shortest fault, seconds (default 10)")
    p.add_argument("--hold-max", type=float, default=20, help="longest fault, seconds (default 20)")
    p.add_argument("--kinds", default="", help="only these fault kinds, e.g. isolate-leader,isolate-one")
    p.add_argument("--unsafe-stale-reads", action="store_true", help="start kvd weakened (teeth)")
    p.add_argument("--unsafe-blind-writes", action="store_true",
                   help="bank/append: transactions commit without compares (teeth)")
    p.add_argument("--serializable-reads", type=float, default=0.2,
                   help="register: fraction of reads that are serializable (default 0.2)")
    p.add_argument("--keys", type=int, default=0, help="register/append: live keys (default: workload's)")
    p.add_argument("--ops-per-key", type=int, default=0, help="register: ops per key; append: appends per key")
    p.add_argument("--one-shard", action="store_true",
                   help="register: every key in shard 0, whose leader the leader faults hit (teeth)")
    p.add_argument("--tick-ms", type=int, default=10)
    p.add_argument("--election-ticks", type=int, default=100, help="1-2 s elections: 2 shared cores")
    p.add_argument("--heartbeat-ticks", type=int, default=10)
    p.add_argument("--op-timeout-ms", type=int, default=3000)
    p.add_argument("--final-seconds", type=float, default=60, help="bound on the final reads")
    p.add_argument("--budget-seconds", type=int, default=60, help="checker budget per key/search")
    p.add_argument("--keep-data", action="store_true", help="keep kvd data dirs of valid runs too")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(os.path.dirname(HERE), "build"))
    ap.add_argument("--store", default=os.path.join(HERE, "store"))
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="one run")
    r.add_argument("--workload", choices=WORKLOADS, required=True)
    r.add_argument("--nemesis", required=True)
    add_run_options(r)
    for name in ("smoke", "teeth"):
        s = sub.add_parser(name)
        s.add_argument("--seed", type=int, default=SMOKE_SEED)
    rp = sub.add_parser("replay", help="rerun a run dir's workload with exactly its recorded faults")
    rp.add_argument("run_dir")
    lg = sub.add_parser("long", help="every workload x every nemesis; stops by itself")
    lg.add_argument("--minutes", type=float, default=3, help="of faults per run (default 3)")
    lg.add_argument("--workloads", default=",".join(WORKLOADS))
    lg.add_argument("--nemeses", default="partition,kill,pause,net,clock,combined")
    lg.add_argument("--seed", type=int, default=None)
    # Sub-commands also accept the global options after their name.
    for p in (r, lg, rp) + tuple(sub.choices[n] for n in ("smoke", "teeth")):
        p.add_argument("--build-dir", dest="build_dir_sub", default=None)
        p.add_argument("--store", dest="store_sub", default=None)
    a = ap.parse_args(argv)
    a.build_dir = os.path.abspath(a.build_dir_sub or a.build_dir)
    a.store = os.path.abspath(a.store_sub or a.store)
    return a


def run_defaults(**kw):
    """A run's options as `run` would parse them, overridden by kw (smoke/teeth/long)."""
    p = argparse.ArgumentParser()
    add_run_options(p)
    o = p.parse_args([])
    for k, v in kw.items():
        setattr(o, k, v)
    return o


# ---------------------------------------------------------------------------------------------
# One run

def make_run_dir(store, workload, nemesis_spec, seed):
    stamp = time.strftime("%Y%m%dT%H%M%S")
    base = os.path.join(store, f"{stamp}-{workload}-{nemesis_spec}-s{seed}")
    d, i = base, 1
    while os.path.exists(d):
        i += 1
        d = f"{base}.{i}"
    os.makedirs(os.path.join(d, "logs"))
    os.makedirs(os.path.join(d, "data"))
    return d


def client_command(build_dir, run_dir, cluster, workload, o):
    cmd = [os.path.join(build_dir, "jepsen_client"), "run", "--workload", workload, "--nodes", cluster.endpoints(),
           "--history", os.path.join(run_dir, "history.client.jsonl"),
           "--summary", os.path.join(run_dir, "client-summary.json"),
           "--seed", str(o.seed), "--concurrency", str(o.concurrency), "--rate", str(o.rate),
           "--max-ops", str(int(o.rate * (o.time_limit + o.recovery) * 2 + 1000)),
           # A bound of its own, should run.py never say "final".
           "--max-seconds", str(int(o.time_limit + o.recovery + 120)),
           "--final-seconds", str(o.final_seconds), "--op-timeout-ms", str(o.op_timeout_ms),
           "--serializable-reads", str(o.serializable_reads if workload == "register" else 0)]
    if o.keys:
        cmd += ["--keys", str(o.keys)]
    if o.ops_per_key:
        cmd += ["--ops-per-key", str(o.ops_per_key)]
    if o.unsafe_blind_writes:
        cmd += ["--unsafe-blind-writes", "true"]
    if o.one_shard and workload == "register":
        cmd += ["--one-shard", "true"]
    return netns_exec(HUB, cmd)


def do_run(build_dir, store, workload, nemesis_spec, o, replay=None):
    """One run, start to verdict. Returns a result dict (verdict: True/False/'unknown'/'error').
    `replay`: faults recorded by an earlier run (nemesis.recorded_faults), applied instead of
    a random schedule."""
    if o.seed is None:
        o.seed = random.randrange(1, 1 << 31)
    packages = nem.parse_packages(nemesis_spec)
    o.clock = "clock" in packages
    missing = sandbox.missing_tools("net" in packages, o.clock, build_dir)
    if missing:
        raise SystemExit(f"run: missing {', '.join(missing)} (run tools/setup and build; see jepsen/README.md)")
    run_dir = make_run_dir(store, workload, nemesis_spec, o.seed)
    rng = random.Random(o.seed)
    kinds = dict(nem.KINDS)
    if o.kinds:
        wanted = set(o.kinds.split(","))
        for p in packages:
            kinds[p] = tuple(k for k in kinds[p] if k in wanted) or kinds[p]
    params = dict(vars(o), workload=workload, nemesis=nemesis_spec, nodes=NODES, build_dir=build_dir,
                  argv=sys.argv)
    with open(os.path.join(run_dir, "run.json"), "w") as f:
        json.dump(params, f, indent=2, default=str)
    log(f"run: {workload} x {nemesis_spec}, seed {o.seed}, {o.time_limit:.0f}s + {o.recovery:.0f}s recovery -> {run_dir}")

    topo = Topology(NODES)
    cluster = Cluster(run_dir, build_dir, NODES, o)
    timeline = nem.Timeline(os.path.join(run_dir, "nemesis.jsonl"))
    nemesis = nem.Nemesis(cluster, topo, run_dir, build_dir, rng, timeline, kinds)
    client = None
    client_exit, final_status, error = None, {}, None
    started = time.monotonic()
    try:
        topo.create()
        cluster.start_all()
        leader = cluster.wait_for_leader(60)
        if leader is None:
            raise RuntimeError("no leader within 60 s of starting the cluster (see logs/n*.log)")
        log(f"cluster: up, leader {leader}")
        client_log = open(os.path.join(run_dir, "logs", "client.log"), "ab")
        client = subprocess.Popen(client_command(build_dir, run_dir, cluster, workload, o), stdin=subprocess.PIPE,
                                  stdout=client_log, stderr=subprocess.STDOUT)
        client_log.close()
        timeline.event("phase", {"phase": "main", "seconds": o.time_limit})
        if replay is not None:
            nem.replay_schedule(nemesis, replay, o.time_limit, abort=lambda: client.poll() is not None)
        else:
            nem.run_schedule(nemesis, packages, o.time_limit, o.interval, o.hold_min, o.hold_max, rng,
                             abort=lambda: client.poll() is not None)
        nemesis.heal_all()
        timeline.event("phase", {"phase": "recovery", "seconds": o.recovery})
        deadline = time.monotonic() + o.recovery
        while time.monotonic() < deadline and client.poll() is None:
            time.sleep(0.5)
        timeline.event("phase", {"phase": "final-reads"})
        log("run: final reads")
        if client.poll() is None:
            client.stdin.write(b"final\n")
            client.stdin.flush()
        try:
            client_exit = client.wait(timeout=o.final_seconds + 2 * o.op_timeout_ms / 1000 + 30)
        except subprocess.TimeoutExpired:
            sandbox.terminate(client)
            client_exit = "killed: the final reads did not end"
        final_status = cluster.status(timeout_ms=2000)
    except Exception as e:  # noqa: BLE001 - any failure still tears down and reports
        error = f"{type(e).__name__}: {e}"
        traceback.print_exc()
    finally:
        try:
            nemesis.heal_all()
        except Exception:  # noqa: BLE001
            traceback.print_exc()
        sandbox.terminate(client)
        cluster.stop_all()
        topo.destroy()
        timeline.close()
    return finish_run(run_dir, build_dir, workload, nemesis_spec, o, client_exit, final_status, error, started)


def finish_run(run_dir, build_dir, workload, nemesis_spec, o, client_exit, final_status, error, started):
    events = analysis.merge(os.path.join(run_dir, "history.client.jsonl"), os.path.join(run_dir, "nemesis.jsonl"),
                            os.path.join(run_dir, "history.jsonl"))
    if os.path.exists(os.path.join(run_dir, "history.client.jsonl")):
        os.remove(os.path.join(run_dir, "history.client.jsonl"))  # now inside history.jsonl
    summary_path = os.path.join(run_dir, "client-summary.json")
    client_summary = json.load(open(summary_path)) if os.path.exists(summary_path) else {}
    ops, checks, verdict = analysis.judge(run_dir, build_dir, workload, events, o.budget_seconds, client_summary,
                                          final_status, client_exit if client_exit is not None else "did not run")
    if error is not None:
        verdict = "error"
    c = analysis.counts(ops)
    result = {"workload": workload, "nemesis": nemesis_spec, "seed": o.seed, "valid": verdict, "error": error,
              "weakened": weakening(o),
              "counts": c, "checks": checks, "final_status": final_status,
              "seconds": round(time.monotonic() - started, 1), "run_dir": run_dir}
    with open(os.path.join(run_dir, "results.json"), "w") as f:
        json.dump(result, f, indent=2, default=str)
    note = plot.plot(run_dir, f"{workload} x {nemesis_spec} (seed {o.seed}) valid={verdict}", events, ops)
    if note:
        log(note)
    line = summary_line(result)
    with open(os.path.join(run_dir, "summary.txt"), "w") as f:
        f.write(line + "\n")
    with open(os.path.join(os.path.dirname(run_dir), "summary.log"), "a") as f:
        f.write(line + "\n")
    if (verdict is True or weakening(o)) and not o.keep_data:
        # Kept when something is wrong with the real store; a weakened one is wrong on purpose.
        shutil.rmtree(os.path.join(run_dir, "data"), ignore_errors=True)
    print(line, flush=True)
    for ch in checks:
        if ch["valid"] is not True:
            log(f"  {ch['checker']}: valid={ch['valid']} {ch.get('anomaly_types') or ch.get('problems') or ''}")
    if error:
        log(f"  harness error: {error}")
    return result


def weakening(o):
    """The deliberate weakenings a run was made with (teeth runs): they must come out invalid."""
    return (["kvd --unsafe-stale-reads"] if o.unsafe_stale_reads else []) + \
        (["client --unsafe-blind-writes"] if o.unsafe_blind_writes else [])


def summary_line(r):
    c = r["counts"]
    per = " ".join(f"{ch['checker']}={ch['valid']}" for ch in r["checks"])
    weak = f" WEAKENED {' '.join(r['weakened'])} (must be invalid)" if r.get("weakened") else ""
    return (f"jepsen: {r['workload']:<8} x {r['nemesis']:<17} seed={r['seed']:<10} ops={c['ops']:<5} ok={c['ok']:<5} "
            f"fail={c['fail']:<4} info={c['info']:<4} valid={r['valid']}  ({per}){weak}  {os.path.basename(r['run_dir'])}")


# ---------------------------------------------------------------------------------------------
# Schedules

def smoke(a):
    """CTest's smoke: three short runs, fixed seed, about 3 minutes."""
    log(f"smoke: seed {a.seed} (replay one run with: jepsen/run.py run --workload W --nemesis N --seed S ...)")
    short = dict(time_limit=45, recovery=8, interval=5, hold_min=5, hold_max=10, budget_seconds=30)
    plan = [("register", "partition+kill"), ("bank", "pause+partition"), ("append", "combined")]
    results = [do_run(a.build_dir, a.store, w, n, run_defaults(seed=a.seed + i, **short))
               for i, (w, n) in enumerate(plan)]
    print_table(results)
    return 0 if all(r["valid"] is True for r in results) else 1


def teeth(a):
    """Checkers that never fail prove nothing, so each weakening below MUST come out invalid.
    1. kvd --unsafe-stale-reads true serves linearizable reads locally (no ReadIndex).
       Isolating the leader or a node, while every node keeps serving reads of one key,
       must be `nonlinearizable` (kvcheck linear). The keys stay in shard 0 (--one-shard),
       whose leader the leader faults cut off: spread over the shards, most keys' leaders
       would stay in the majority and the stale window would often be missed.
    2. jepsen_client --unsafe-blind-writes commits bank transfers without their version
       compares: concurrent transfers lose updates, and money appears or vanishes
       (kvcheck bank: wrong-total), with no faults at all.
    3. The same for append: lost appends must show up in kvcheck append (incompatible-order,
       G-single, G0, ...; whichever the history has)."""
    stale = run_defaults(seed=a.seed, unsafe_stale_reads=True, time_limit=30, recovery=3, interval=3, hold_min=8,
                         hold_max=10, kinds="isolate-leader,isolate-one", keys=1, ops_per_key=400, rate=150,
                         one_shard=True,
                         serializable_reads=0.0, final_seconds=20, budget_seconds=30)
    blind = run_defaults(seed=a.seed, unsafe_blind_writes=True, time_limit=12, recovery=2, rate=150,
                         final_seconds=20, budget_seconds=30)
    plan = [("register", "partition", stale, "linear", "nonlinearizable"),
            ("bank", "none", blind, "bank", "wrong-total"),
            ("append", "none", run_defaults(**vars(blind)), "append", None)]
    failed = []
    for workload, spec, o, checker, anomaly in plan:
        r = do_run(a.build_dir, a.store, workload, spec, o)
        check = next((ch for ch in r["checks"] if ch["checker"] == checker), {"valid": None, "anomaly_types": []})
        if check["valid"] is False and (anomaly is None or anomaly in check["anomaly_types"]):
            print(f"teeth: OK: {' '.join(weakening(o))} was caught by {checker}: "
                  f"{', '.join(check['anomaly_types'])}", flush=True)
        else:
            failed.append(f"{' '.join(weakening(o))} was NOT caught by {checker} (valid={check['valid']}, "
                          f"anomalies {check['anomaly_types']}); see {r['run_dir']}")
    for f in failed:
        print("teeth: FAILED: " + f, flush=True)
    return 1 if failed else 0


def long_schedule(a):
    """Every workload x every nemesis, a.minutes of faults each; bounded by count, so it stops."""
    seed = a.seed if a.seed is not None else random.randrange(1, 1 << 30)
    workloads, nemeses = a.workloads.split(","), a.nemeses.split(",")
    total = len(workloads) * len(nemeses)
    log(f"long: {total} runs x {a.minutes} min, seed {seed}; expect about {total * (a.minutes + 1.2):.0f} min")
    results = []
    for i, (w, n) in enumerate((w, n) for w in workloads for n in nemeses):
        o = run_defaults(seed=seed + i, time_limit=a.minutes * 60, recovery=20)
        try:
            results.append(do_run(a.build_dir, a.store, w, n, o))
        except SystemExit as e:
            log(f"long: {w} x {n} not run: {e}")
    print_table(results)
    return 0 if all(r["valid"] is True for r in results) else 1


def replay(a):
    """Same workload, parameters and seed as RUN_DIR, and the same faults on the same nodes at
    the same offsets (timing of the ops themselves cannot be replayed on a real cluster)."""
    src = os.path.abspath(a.run_dir)
    with open(os.path.join(src, "run.json")) as f:
        params = json.load(f)
    o = run_defaults(**{k: params[k] for k in vars(run_defaults()) if k in params})
    recorded = nem.recorded_faults(os.path.join(src, "nemesis.jsonl"))
    log(f"replay: {len(recorded)} recorded faults of {src}")
    return EXIT.get(do_run(a.build_dir, a.store, params["workload"], params["nemesis"], o, replay=recorded)["valid"], 3)


def print_table(results):
    print("\n".join(["", "summary:"] + [summary_line(r) for r in results]), flush=True)


def main(argv):
    a = parse_args(argv)
    if os.environ.get(sandbox.INSIDE_ENV) != "1":
        why = sandbox.why_no_namespaces()
        if why:
            print(f"jepsen: SKIP: {why}", flush=True)
            return sandbox.SKIP
        os.makedirs(a.store, exist_ok=True)
    sandbox.enter_sandbox_or_continue([os.path.abspath(__file__)] + argv)
    if a.cmd == "smoke":
        return smoke(a)
    if a.cmd == "teeth":
        return teeth(a)
    if a.cmd == "long":
        return long_schedule(a)
    if a.cmd == "replay":
        return replay(a)
    o = run_defaults(**{k: getattr(a, k) for k in vars(run_defaults()) if hasattr(a, k)})
    return EXIT.get(do_run(a.build_dir, a.store, a.workload, a.nemesis, o)["valid"], 3)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

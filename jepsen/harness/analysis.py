"""After a run: one merged history, op counts, the checkers' verdicts, and one verdict.

The judging is kvcheck's (jepsen/checker): linear, bank, append or set, by workload. Two
small checks live here because they are about the run rather than a consistency model:
- serializable reads (register): may be stale, so they are kept out of the linearizability
  check, but each must return a value some write or CAS actually tried to write, not one
  whose write `fail`ed, and not one first written after the read completed;
- recovery: after the final heal every node answered, and a final read through every node
  succeeded (jepsen-notes section 6).
"""
import json
import os
import subprocess

CHECKER = {"register": "linear", "bank": "bank", "append": "append", "set": "set"}


def load_jsonl(path):
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass  # a torn last line from a killed client: the checker sees the rest
    return out


def merge(client_path, nemesis_path, out_path):
    """Client events and nemesis events in one file, in t_ns order (stable: each process's own
    events keep their order, and the client file is already in t_ns order)."""
    events = load_jsonl(client_path) + load_jsonl(nemesis_path)
    events.sort(key=lambda e: e.get("t_ns", 0))
    with open(out_path, "w") as f:
        for e in events:
            f.write(json.dumps(e, separators=(",", ":")) + "\n")
    return events


def pair_ops(events):
    """Client ops as dicts: f, key, value, result, type (ok/fail/info), invoke_t, complete_t,
    process, node, consistency. An invoke without completion is info."""
    open_ops, ops = {}, []
    for e in events:
        p = e.get("process")
        if not isinstance(p, int) or e.get("type") == "meta":
            continue
        if e["type"] == "invoke":
            op = {"f": e.get("f"), "key": e.get("key"), "value": e.get("value"), "invoke_t": e.get("t_ns", 0),
                  "process": p, "node": e.get("node"), "consistency": e.get("consistency"), "type": "info",
                  "complete_t": None, "result": None, "error": None}
            open_ops[p] = op
            ops.append(op)
        else:
            op = open_ops.pop(p, None)
            if op is not None:
                op["type"], op["complete_t"] = e["type"], e.get("t_ns")
                op["result"], op["error"] = e.get("value"), e.get("error")
    return ops


def counts(ops):
    c = {"ops": len(ops), "ok": 0, "fail": 0, "info": 0}
    for op in ops:
        c[op["type"]] = c.get(op["type"], 0) + 1
    return c


def run_kvcheck(build_dir, checker, history, out, budget_s, log_path):
    cmd = [os.path.join(build_dir, "kvcheck"), checker, history, "--out", out, "--budget-seconds", str(budget_s)]
    with open(log_path, "ab") as logf:
        try:
            r = subprocess.run(cmd, stdout=logf, stderr=subprocess.STDOUT, timeout=budget_s * 4 + 120)
            code = r.returncode
        except subprocess.TimeoutExpired:
            code = 2
    verdict = {0: True, 1: False, 2: "unknown"}.get(code, "error")
    detail = {}
    if os.path.exists(out):
        with open(out) as f:
            try:
                detail = json.load(f)
            except ValueError:
                pass
    return {"checker": checker, "valid": verdict, "exit": code, "file": os.path.basename(out),
            "anomaly_types": detail.get("anomaly_types", []), "unknown_reasons": detail.get("unknown_reasons", [])}


def check_serializable_reads(ops):
    writes = {}  # key -> {value: [(invoke_t, type)]}
    for op in ops:
        if op["f"] == "write":
            writes.setdefault(op["key"], {}).setdefault(json.dumps(op["value"]), []).append(op)
        elif op["f"] == "cas" and isinstance(op["value"], list) and len(op["value"]) == 2:
            writes.setdefault(op["key"], {}).setdefault(json.dumps(op["value"][1]), []).append(op)
    anomalies, n = [], 0
    for op in ops:
        if op["f"] != "read" or op["consistency"] != "serializable" or op["type"] != "ok":
            continue
        n += 1
        if op["result"] is None:
            continue
        cands = writes.get(op["key"], {}).get(json.dumps(op["result"]), [])
        kind = None
        if not cands:
            kind = "garbage-read"
        elif all(w["type"] == "fail" for w in cands):
            kind = "read-of-failed-write"
        elif all(w["invoke_t"] > op["complete_t"] for w in cands if w["type"] != "fail"):
            kind = "future-read"
        if kind:
            anomalies.append({"type": kind, "key": op["key"], "value": op["result"], "process": op["process"],
                              "node": op["node"], "invoke_t": op["invoke_t"], "complete_t": op["complete_t"]})
    return {"checker": "serializable-reads", "valid": not anomalies if n else True, "reads": n,
            "anomaly_types": sorted({a["type"] for a in anomalies}), "anomalies": anomalies[:20]}


def check_recovery(client_summary, final_status, client_exit):
    problems = []
    if client_exit != 0:
        problems.append(f"jepsen_client exited {client_exit}")
    if not client_summary.get("recovered", False):
        bad = [n for n, ok in client_summary.get("final_reads_by_node", {}).items() if not ok]
        problems.append("no final read succeeded through " + (", ".join(bad) if bad else "the client"))
    down = [n for n, s in sorted(final_status.items()) if not s.get("ok")]
    if down or not final_status:
        problems.append("nodes not answering after recovery: " + (", ".join(down) if down else "all"))
    return {"checker": "recovery", "valid": not problems, "problems": problems,
            "final_reads_by_node": client_summary.get("final_reads_by_node", {}),
            "final_read_seconds": client_summary.get("final_read_seconds")}


def combine(checks):
    vs = [c["valid"] for c in checks]
    if any(v is False for v in vs):
        return False
    if any(v == "error" for v in vs):
        return "error"
    if all(v is True for v in vs):
        return True
    return "unknown"


def judge(run_dir, build_dir, workload, events, budget_s, client_summary, final_status, client_exit):
    ops = pair_ops(events)
    history = os.path.join(run_dir, "history.jsonl")
    log_path = os.path.join(run_dir, "logs", "kvcheck.log")
    checks = []
    checker = CHECKER[workload]
    if workload == "register" and any(op["consistency"] == "serializable" for op in ops):
        # The linearizability check judges the linearizable reads only.
        linear = os.path.join(run_dir, "history.linear.jsonl")
        with open(linear, "w") as f:
            for e in events:
                if e.get("consistency") != "serializable":
                    f.write(json.dumps(e, separators=(",", ":")) + "\n")
        history = linear
    checks.append(run_kvcheck(build_dir, checker, history, os.path.join(run_dir, f"results-{checker}.json"),
                              budget_s, log_path))
    if workload == "register":
        checks.append(check_serializable_reads(ops))
    checks.append(check_recovery(client_summary, final_status, client_exit))
    return ops, checks, combine(checks)

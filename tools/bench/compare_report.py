"""The side-by-side table and the chart of compare-etcd (std-lib only, except the chart,
which needs Debian's python3-matplotlib under /usr/bin/python3).

Input: the run records compare-etcd collects, one dict per run:
  {"system": "etcd"|"ours", "workload": name, "round": r, "result": <the tool's JSON line>}
where result is etcdload's or kvbench's JSON (the same field names where they mean the same).
"""

import math

# (name, label, clients/conns) in table order; compare-etcd runs them in this order.
WORKLOADS = [
    ("put-1x1", "put", "1/1"),
    ("put-64x8", "put", "64/8"),
    ("put-256x16", "put", "256/16"),
    ("get-l-64x8", "get linearizable", "64/8"),
    ("get-s-64x8", "get serializable", "64/8"),
    ("txn-cas-64x8", "txn compare-and-swap", "64/8"),
    ("txn-xshard-64x8", "txn cross-shard", "64/8"),
]
# Short names for the chart's axis.
CHART_LABELS = {"put-1x1": "put", "put-64x8": "put", "put-256x16": "put", "get-l-64x8": "get lin.",
                "get-s-64x8": "get ser.", "txn-cas-64x8": "txn CAS", "txn-xshard-64x8": "txn x-shard"}

# Busy cores of other tenants above which a run is marked contaminated (etcd-bench's rule).
NOISY_CORES = 0.15


def other_cores(result):
    """Busy cores of the machine not used by the servers or the load generator."""
    return result.get("host_busy_cores", 0) - result.get("server_cpu_cores", 0) - result.get("loadgen_cpu_cores", 0)


def ops_per_cpu_s(result):
    cores = result.get("server_cpu_cores", 0)
    return result["ops_per_s"] / cores if cores > 0 else 0.0


def metrics(result):
    return {"ops_per_s": result["ops_per_s"], "p99_ms": result["p99_ms"], "ops_per_cpu_s": ops_per_cpu_s(result),
            "p50_ms": result["p50_ms"], "other_cores": other_cores(result)}


def geomean(xs):
    xs = [x for x in xs if x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def summarize(records):
    """Per workload: each system's per-round metrics and means, and ours/etcd ratios.

    A ratio is taken within each round (etcd and ours measured minutes apart on the same
    machine), then the rounds' ratios are combined by geometric mean, reported with their
    range: that is what cancels the machine's drift between runs."""
    summary = []
    for name, label, shape in WORKLOADS:
        rows = {"etcd": {}, "ours": {}}
        unavailable = None
        for rec in records:
            if rec["workload"] != name:
                continue
            res = rec["result"]
            if not res.get("available", True):  # runs saved before cross-shard txns existed
                unavailable = res.get("note", "not available yet")
                continue
            if res.get("failed"):
                continue
            rows[rec["system"]][rec["round"]] = metrics(res)
        entry = {"workload": name, "label": label, "clients_conns": shape, "unavailable": unavailable}
        for system in ("etcd", "ours"):
            per_round = rows[system]
            entry[system] = {"rounds": per_round}
            for key in ("ops_per_s", "p99_ms", "ops_per_cpu_s", "p50_ms", "other_cores"):
                values = [m[key] for m in per_round.values()]
                entry[system][key] = sum(values) / len(values) if values else None
            values = [m["ops_per_s"] for m in per_round.values()]
            entry[system]["spread_pct"] = (100 * (max(values) - min(values)) / (sum(values) / len(values))
                                           if len(values) > 1 and sum(values) > 0 else None)
        entry["ratios"] = {}
        common = sorted(set(rows["etcd"]) & set(rows["ours"]))
        for key in ("ops_per_s", "p99_ms", "ops_per_cpu_s"):
            per_round = [rows["ours"][r][key] / rows["etcd"][r][key] for r in common if rows["etcd"][r][key] > 0]
            entry["ratios"][key] = {"geomean": geomean(per_round), "min": min(per_round) if per_round else None,
                                    "max": max(per_round) if per_round else None, "per_round": per_round}
        entry["noisy_runs"] = sum(1 for s in ("etcd", "ours") for m in rows[s].values() if m["other_cores"] > NOISY_CORES)
        entry["runs"] = sum(len(rows[s]) for s in ("etcd", "ours"))
        summary.append(entry)
    return summary


def _num(v, digits=0):
    if v is None:
        return "-"
    if digits == 0:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def _lat(v):
    if v is None:
        return "-"
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 100 else f"{v:.0f}"


def _ratio(r):
    if not r or r["geomean"] is None:
        return "-"
    if len(r["per_round"]) > 1:
        return f"{r['geomean']:.2f} ({r['min']:.2f}-{r['max']:.2f})"
    return f"{r['geomean']:.2f}"


def format_table(summary, rss, meta):
    """The side-by-side table, as text."""
    out = []
    out.append(f"etcd {meta['etcd_version']} vs ours (kvd {meta['kv_version']}, {meta['shards']} shard(s), "
               f"{meta['build_type']} build): 3 nodes each on 127.0.0.1, {meta['cores']} cores shared with the load "
               "generators;")
    out.append("default durability on both (every acknowledged write fsynced on a quorum); key 16 B, value 256 B;")
    out.append(f"{meta['rounds']} round(s), each workload run etcd then ours in odd rounds, ours then etcd in even "
               f"ones; {meta['duration_s']:g} s windows after {meta['warmup_s']:g} s warm-up. "
               f"Load average: {meta['load_before']} before, {meta['load_after']} after.")
    out.append("Values are means over the rounds; ratio = ours/etcd per round, geometric mean (min-max).")
    out.append("ops/s and ops/CPU-s: ratio > 1 favours ours. p99: ratio < 1 favours ours. "
               "ops/CPU-s = ops per second of the three servers' CPU.")
    others = [other_cores(r["result"]) for r in meta.get("_records", [])
              if "ops_per_s" in r["result"] and r["result"].get("available", True) and not r["result"].get("failed")]
    if others:
        out.append(f"Other tenants of the machine used {min(others):.2f}-{max(others):.2f} cores "
                   f"(mean {sum(others) / len(others):.2f}) during the runs.")
    out.append("")
    head = (f"{'workload':<21} {'c/k':>6} | {'ops/s etcd':>10} {'ours':>8} {'ratio':>17} | {'p99 ms etcd':>11} "
            f"{'ours':>6} {'ratio':>17} | {'ops/CPU-s etcd':>14} {'ours':>7} {'ratio':>17} | {'noisy':>5}")
    out.append(head)
    out.append("-" * len(head))
    for e in summary:
        et, ou, ra = e["etcd"], e["ours"], e["ratios"]
        if e["unavailable"]:
            note = "etcd: n/a (no shards); ours: not available in that build (an earlier run's file)"
            out.append(f"{e['label']:<21} {e['clients_conns']:>6} | {note}")
            continue
        if not e["runs"]:
            continue
        out.append(f"{e['label']:<21} {e['clients_conns']:>6} | {_num(et['ops_per_s']):>10} {_num(ou['ops_per_s']):>8} "
                   f"{_ratio(ra['ops_per_s']):>17} | {_lat(et['p99_ms']):>11} {_lat(ou['p99_ms']):>6} "
                   f"{_ratio(ra['p99_ms']):>17} | {_num(et['ops_per_cpu_s']):>14} {_num(ou['ops_per_cpu_s']):>7} "
                   f"{_ratio(ra['ops_per_cpu_s']):>17} | {e['noisy_runs']:>2}/{e['runs']:<2}")
    out.append("")
    out.append(f"noisy = runs during which other processes used > {NOISY_CORES} cores (machine busy minus servers "
               "minus generator); their numbers are skewed, ratios less so.")
    xshard = next((e for e in summary if e["workload"] == "txn-xshard-64x8" and e["runs"] and not e["unavailable"]),
                  None)
    if xshard:
        out.append(f"txn cross-shard: ours only (etcd has no shards), on a {meta.get('xshard_shards', '?')}-shard "
                   "cluster: each txn reads a key on each of two shards and writes both (two-phase commit), "
                   "through run_transaction; ops = committed txns.")
    if rss:
        out.append("")
        out.append(format_rss(rss))
    return "\n".join(out)


def format_rss(rss):
    lines = [f"Peak RSS per node after loading {rss['keys']:,} keys (VmHWM, MiB; batches of {rss['batch']} puts per txn):"]
    for system in ("etcd", "ours"):
        s = rss.get(system)
        if not s:
            lines.append(f"  {system:<5} -")
            continue
        if s.get("error"):
            lines.append(f"  {system:<5} failed: {s['error']}")
            continue
        nodes = ", ".join(f"{n['vm_hwm_kib'] / 1024:.0f}" for n in s["nodes"])
        anon = ", ".join(f"{n['rss_anon_kib'] / 1024:.0f}" for n in s["nodes"])
        disk = ", ".join(f"{n['disk_bytes'] / 2**20:.0f}" for n in s["nodes"])
        lines.append(f"  {system:<5} peak {nodes}  (RssAnon at the end {anon}; data dir on disk {disk} MiB); "
                     f"load took {s['load_s']:.1f} s")
    if rss.get("ratio_max_hwm"):
        lines.append(f"  ratio ours/etcd of the largest node's peak: {rss['ratio_max_hwm']:.2f} (< 1 favours ours). "
                     "RssAnon is heap; the rest of the peak is mapped files (etcd's bbolt, libraries).")
        lines.append("  The OS page cache (RocksDB's SST reads, etcd's unmapped file pages) is in neither figure.")
    return "\n".join(lines)


def write_chart(summary, meta, path):
    """Throughput and p99 per workload, etcd beside ours, one dot per round. Returns an
    error string, or None on success."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        return f"no chart: matplotlib is missing ({e}); apt-get install python3-matplotlib"
    rows = [e for e in summary if e["runs"] and not e["unavailable"]]
    if not rows:
        return "no chart: no results"
    fig, axes = plt.subplots(1, 3, figsize=(17, 5.2))
    names = [f"{CHART_LABELS.get(e['workload'], e['label'])}\n{e['clients_conns']}" for e in rows]
    xs = list(range(len(rows)))
    width = 0.38
    colors = {"etcd": "#4c78a8", "ours": "#f58518"}
    for ax, key, title, log in ((axes[0], "ops_per_s", "throughput (ops/s, higher is better)", False),
                                (axes[1], "p99_ms", "p99 latency (ms, lower is better, log scale)", True),
                                (axes[2], "ops_per_cpu_s", "ops per server CPU-second (higher is better)", False)):
        for i, system in enumerate(("etcd", "ours")):
            offset = (i - 0.5) * width
            means = [e[system][key] or 0 for e in rows]
            ax.bar([x + offset for x in xs], means, width, label=system if system == "etcd" else "ours (kvd)",
                   color=colors[system])
            for x, e in zip(xs, rows):
                vals = [m[key] for m in e[system]["rounds"].values()]
                ax.scatter([x + offset] * len(vals), vals, color="black", s=8, zorder=3)
        for x, e in zip(xs, rows):
            r = e["ratios"][key]["geomean"]
            if r:
                top = max(e["etcd"][key] or 0, e["ours"][key] or 0)
                ax.annotate(f"{r:.2f}x", (x, top), ha="center", va="bottom", fontsize=8)
        ax.set_xticks(xs)
        ax.set_xticklabels(names, fontsize=8)
        ax.set_title(title, fontsize=10)
        if log:
            ax.set_yscale("log")
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"etcd {meta['etcd_version']} vs ours, 3 nodes on 127.0.0.1, {meta['cores']} cores, "
                 f"{meta['rounds']} rounds of {meta['duration_s']:g} s (ratio = ours/etcd; dots = rounds); "
                 f"load avg {meta['load_before']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None

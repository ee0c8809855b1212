"""latency.png: every op's latency over time (ok / fail / info) above the throughput of ok
and failed ops per second, with each fault window shaded and named. Uses Debian's
python3-matplotlib (the harness runs on /usr/bin/python3); without it, no plot and a note.
"""
import os

COLORS = {"ok": "#1f77b4", "fail": "#d62728", "info": "#ff7f0e"}
FAULT_COLORS = {"partition": "#9467bd", "kill": "#8c564b", "pause": "#e377c2", "net": "#7f7f7f",
                "clock": "#bcbd22"}


def fault_windows(events, t0, t_end):
    """[(start_s, stop_s, package, label)] from the nemesis timeline."""
    out, open_fault = [], None
    for e in events:
        if e.get("process") != "nemesis":
            continue
        t = (e["t_ns"] - t0) / 1e9
        v = e.get("value") or {}
        if e.get("f") == "start":
            open_fault = (t, v.get("fault", "?"), f"{v.get('fault')} {v.get('kind', '')}")
        elif e.get("f") in ("stop", "heal-all") and open_fault is not None:
            out.append((open_fault[0], t, open_fault[1], open_fault[2]))
            open_fault = None
    if open_fault is not None:
        out.append((open_fault[0], (t_end - t0) / 1e9, open_fault[1], open_fault[2]))
    return out


def plot(run_dir, title, events, ops):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "no plot: python3-matplotlib is not installed (tools/setup installs it)"
    if not ops:
        return "no plot: no ops"
    t0 = min(op["invoke_t"] for op in ops)
    t_end = max([op["complete_t"] or op["invoke_t"] for op in ops] + [e.get("t_ns", t0) for e in events])
    fig, (ax_lat, ax_tp) = plt.subplots(2, 1, figsize=(13, 7), sharex=True, gridspec_kw={"height_ratios": [3, 1.3]})
    for kind in ("ok", "fail", "info"):
        xs = [(op["invoke_t"] - t0) / 1e9 for op in ops if op["type"] == kind and op["complete_t"]]
        ys = [max(1e-3, (op["complete_t"] - op["invoke_t"]) / 1e6) for op in ops if op["type"] == kind and op["complete_t"]]
        ax_lat.scatter(xs, ys, s=4, c=COLORS[kind], label=f"{kind} ({len(xs)})", alpha=0.6, linewidths=0)
    ax_lat.set_yscale("log")
    ax_lat.set_ylabel("latency (ms)")
    ax_lat.set_title(title)
    # Throughput: completions per 1 s bucket, by outcome.
    seconds = int((t_end - t0) / 1e9) + 1
    for kind in ("ok", "fail", "info"):
        buckets = [0] * seconds
        for op in ops:
            if op["type"] == kind and op["complete_t"]:
                buckets[min(seconds - 1, int((op["complete_t"] - t0) / 1e9))] += 1
        ax_tp.plot(range(seconds), buckets, color=COLORS[kind], linewidth=1, label=kind)
    ax_tp.set_ylabel("ops/s")
    ax_tp.set_xlabel("seconds since the first op")
    seen = set()
    for start, stop, pkg, label in fault_windows(events, t0, t_end):
        color = FAULT_COLORS.get(pkg, "#aaaaaa")
        for ax in (ax_lat, ax_tp):
            ax.axvspan(start, stop, color=color, alpha=0.18, label=None)
        ax_lat.text(start, 1.0, label, transform=ax_lat.get_xaxis_transform(), fontsize=7, va="bottom",
                    rotation=0, color=color)
        seen.add(pkg)
    handles, labels = ax_lat.get_legend_handles_labels()
    import matplotlib.patches as mpatches
    for pkg in sorted(seen):
        handles.append(mpatches.Patch(color=FAULT_COLORS.get(pkg, "#aaaaaa"), alpha=0.3, label=pkg))
    ax_lat.legend(handles=handles, loc="upper right", fontsize=8, markerscale=3)
    ax_tp.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    path = os.path.join(run_dir, "latency.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return None

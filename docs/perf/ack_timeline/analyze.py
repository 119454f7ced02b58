"""Joins the tracer's lines (sitecustomize.py here) into per-ack stages; prints p50/p95/p99.
Usage: analyze.py TRACE_DIR [SECONDS: only acks sent in the last SECONDS of the trace]."""
import json, sys, glob, statistics as st
d = sys.argv[1]; window = float(sys.argv[2]) if len(sys.argv) > 2 else 1e9
sent, acks, txns, where = {}, {}, [], {}
for f in glob.glob(d + "/trace-*.jsonl"):
    for line in open(f):
        r = json.loads(line); k = r["k"]
        if k == "sent": sent[r["id"]] = (r["tp"], r["o"])
        elif k == "ack": acks[r["id"]] = r
        elif k == "txn": txns.append(r)
        elif k == "batch":
            for tp, lst in r.get("recs", {}).items():
                for o, ts, tt in lst:
                    where[(tp, o)] = (r, ts / 1000, tt)
ids = sorted(acks, key=lambda i: acks[i]["sent"])
last = [i for i in ids if acks[i]["sent"] >= acks[ids[-1]]["sent"] - window]
idx = {}
for t in txns:
    for tp, s in t["starts"].items():
        idx.setdefault(tp, []).append((s, t["ends"][tp], t))
rows = []
for i in last:
    if i not in sent: continue
    tp, o = sent[i]
    t = next((t for s, e, t in idx.get(tp, []) if s <= o < e), None)
    w = where.get((tp, o))
    if t is None or w is None: continue
    b, ts, tt = w; a = acks[i]
    proc_end = min(b["end"], t["t0"])
    row = dict(total=a["recv"] - a["sent"])
    if tt == 1:  # LogAppendTime
        row["to_append"] = ts - a["sent"]; row["append_to_fetch"] = b["fetched"] - ts
    else:
        row["to_fetch"] = b["fetched"] - a["sent"]
    row.update(process=proc_end - b["fetched"], lane_wait=t["t0"] - proc_end,
        offsets=t["t_off"] - t["t0"], sends=t["t_sent"] - t["t_off"], endtxn=t["t_end"] - t["t_sent"],
        after_commit=a["recv"] - t["t_end"])
    rows.append(row)
print("acks joined", len(rows), "of", len(last))
def pct(xs, q):
    xs = sorted(xs); return xs[min(len(xs) - 1, int(q / 100 * len(xs)))]
print(f"{'stage':16s} {'mean':>7s} {'p50':>7s} {'p95':>7s} {'p99':>7s}  (ms)")
for k in rows[0]:
    xs = [r[k] * 1000 for r in rows]
    print(f"{k:16s} {st.mean(xs):7.1f} {pct(xs,50):7.1f} {pct(xs,95):7.1f} {pct(xs,99):7.1f}")
worst = sorted(rows, key=lambda r: r["total"])[-max(1, len(rows)//100):]
print("slowest 1% (means):", {k: round(st.mean(r[k] for r in worst) * 1000, 1) for k in rows[0]})
t0 = min(acks[i]["sent"] for i in last)
tt = [t for t in txns if t["t0"] >= t0]
span = max(t["t_end"] for t in tt) - min(t["t0"] for t in tt)
print("txns", len(tt), "txns/s", round(len(tt) / span, 1), "out/txn p50", pct([t["n_out"] for t in tt], 50), "topic-partitions/txn p50/p95", pct([t.get("n_tp", 0) for t in tt], 50), pct([t.get("n_tp", 0) for t in tt], 95))

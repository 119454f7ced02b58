"""Requests per second by process and type over the last measured run's publishing window
(issue 21, stop 28). Scratch tooling beside ``sitecustomize.py``; the window is where the
bench's last simulator producer (``aiokafka-producer-N``, one per run) sent, plus 1.5 s for
the last acks.

    python3 docs/perf/request_mix/analyze.py /tmp/m

``threads.py`` beside it samples a process's threads' CPU every second (the broker's JVM:
request handlers, network threads, JIT compilers); ``threads.py --window /tmp/m`` sums
them over the same window (``jstack`` names the threads by native id)."""
import glob
import json
import sys

d = sys.argv[1]
files = {f: [json.loads(line) for line in open(f)] for f in glob.glob(d + "/reqmix-*.jsonl")}
bench = next(rows for rows in files.values() if rows and rows[0]["argv"].startswith("bench"))
producers = sorted({k.split("|")[0] for r in bench for k in r["c"]
                    if k.startswith("aiokafka-producer") and k.endswith("|ProduceRequest")})
last = producers[-1] + "|ProduceRequest"
series = [(r["t"], r["c"].get(last, 0)) for r in bench]
active = [t for (t, c), (_, c2) in zip(series, series[1:]) if c2 > c]
t0, t1 = active[0] - 0.5, active[-1] + 1.5
print(f"window {t0:.1f} {t1:.1f} ({t1 - t0:.1f} s), the run of {last.split('|')[0]}")
for rows in files.values():
    if not rows:
        continue
    a = min(rows, key=lambda r: abs(r["t"] - t0))
    b = min(rows, key=lambda r: abs(r["t"] - t1))
    dt = b["t"] - a["t"]
    if dt <= 0:
        continue
    print(rows[0]["argv"])
    for k in sorted(b["c"]):
        v = b["c"][k] - a["c"].get(k, 0)
        if not v or (k.endswith(".bytes") and "|produce." not in k):
            continue
        resp = b["c"].get(k + ".bytes", 0) - a["c"].get(k + ".bytes", 0)
        extra = f"  ({resp / v:.0f} B a response)" if resp else ""
        print(f"   {v / dt:10.1f}/s  {k}{extra}")
open(d + "/window", "w").write(f"{t0} {t1}")

"""Per-thread CPU of one process (the broker's JVM), sampled every second (stop 28).

    python3 threads.py PID OUT.jsonl SECONDS        # sample
    python3 threads.py --sum OUT.jsonl T0 T1 [JSTACK.txt]   # sum over a window, by thread name

Linux truncates a thread's name to 15 characters ("data-plane-kafk" is both the network
threads and the request handlers): ``jstack PID > JSTACK.txt`` gives the full names by native
id."""
import collections
import json
import os
import re
import sys
import time

if sys.argv[1] == "--sum":
    rows = [json.loads(line) for line in open(sys.argv[2])]
    t0, t1 = float(sys.argv[3]), float(sys.argv[4])
    names = {}
    if len(sys.argv) > 5:
        for line in open(sys.argv[5]):
            m = re.match(r'^"([^"]+)".*nid=(0x[0-9a-f]+)', line)
            if m:
                names[str(int(m.group(2), 16))] = m.group(1)
    a = min(rows, key=lambda r: abs(r["t"] - t0))
    b = min(rows, key=lambda r: abs(r["t"] - t1))
    by = collections.Counter()
    for tid, (name, cpu) in b["s"].items():
        by[re.sub(r"\d+", "N", names.get(tid, name))] += cpu - a["s"].get(tid, (name, 0))[1]
    dt, total = b["t"] - a["t"], sum(by.values())
    print(f"{dt:.1f} s, {total:.2f} CPU s = {100 * total / dt:.0f} % of a core")
    for k, v in by.most_common(12):
        print(f"{100 * v / dt:6.1f} % of a core  {100 * v / total:5.1f} % of the process  {k}")
    sys.exit()

pid, out, secs = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
tck = os.sysconf("SC_CLK_TCK")
end = time.time() + secs
with open(out, "w") as fh:
    while time.time() < end:
        snap = {}
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                s = open(f"/proc/{pid}/task/{tid}/stat").read()
            except OSError:
                continue
            f = s[s.rindex(")") + 2:].split()
            snap[tid] = (s[s.index("(") + 1:s.rindex(")")], (int(f[11]) + int(f[12])) / tck)
        fh.write(json.dumps({"t": time.time(), "s": snap}) + "\n")
        fh.flush()
        time.sleep(1.0)

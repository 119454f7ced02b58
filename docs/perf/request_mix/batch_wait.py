"""How long a record waits for the batch that takes it (stop 28; docs/performance.md, "Stream-layer
CPU per settlement"). Scratch tooling: a group consumer (the engine's client settings) of two
new topics, one idle, the other fed at 1,000 msg/s; the loop "processes"
each batch for CYCLE ms; measures each record's wait from its append to getmany's return."""
import asyncio, sys, time, uuid, os, statistics as st
# run from the repository root with the stack's environment:
#   python docs/perf/request_mix/batch_wait.py FETCH_WAIT_MS CYCLE_MS [TOP_UP_MS]
from services.runtime.settings import Settings
from services.runtime import principals
from events.stream import clients
from aiokafka.admin import NewTopic

async def main(wait_ms, cycle_ms):
    conn = Settings().kafka(principals.ADMIN)
    busy, idle = f'h2.hz.busy.{uuid.uuid4().hex[:6]}', f'h2.hz.idle.{uuid.uuid4().hex[:6]}'
    admin = clients.admin(conn); await admin.start()
    await admin.create_topics([NewTopic(busy, 12, 1), NewTopic(idle, 12, 1)]); await admin.close()
    await asyncio.sleep(2)
    c = clients.group_consumer(conn, f'h2-hz-{uuid.uuid4().hex[:6]}', client_id='h2hz', fetch_wait_ms=wait_ms)
    c.subscribe([busy, idle]); await c.start()
    while not c.assignment(): await c.getmany(timeout_ms=100)
    p = clients.producer(conn, linger_ms=5); await p.start()
    stop = time.monotonic() + 12
    async def feed():
        i = 0; t0 = time.monotonic()
        while time.monotonic() < stop:
            i += 1
            await p.send(busy, str(time.time()).encode())
            d = i / 1000 - (time.monotonic() - t0)
            if d > 0: await asyncio.sleep(d)
    f = asyncio.create_task(feed())
    waits = []; nb = [0]
    while time.monotonic() < stop + 1:
        got = await c.getmany(timeout_ms=50, max_records=2000)
        if got and TOPUP:
            more = await c.getmany(timeout_ms=TOPUP, max_records=2000)
            for tp, recs in more.items(): got.setdefault(tp, []).extend(recs)
        now = time.time()
        if got: nb[0] += 1
        for tp, recs in got.items():
            waits += [now - float(r.value) for r in recs]
        if got: await asyncio.sleep(cycle_ms / 1000)   # the batch's processing and commit
    await f; await p.stop(); await c.stop()
    w = sorted(waits[len(waits)//6:])
    print(f'wait {wait_ms} ms, cycle {cycle_ms} ms, top-up {TOPUP} ms: {nb[0]} batches, {len(w)} records, record to getmany ms p50 {1e3*st.median(w):.0f} p99 {1e3*w[int(len(w)*.99)]:.0f}')

TOPUP = int(sys.argv[3]) if len(sys.argv) > 3 else 0
asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))

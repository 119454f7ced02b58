"""Per-request ack timeline tracer (issue 21, stop 20; docs/performance.md, "Issue 21: an
ack's milliseconds"). Scratch tooling, not product code: it wraps engine and simulator
internals (``MemberTransactions._commit``, ``PartitionProducers._commit`` before stop 27, ``StreamEngine._process_batch_transactional``,
``simulator.run._send_all`` / ``_receive``), so it follows their signatures as of stop 27.

Use: put this directory first on PYTHONPATH (the bench's workers inherit it) and set
H2_TRACE_DIR to an empty directory; every process writes trace-<pid>.jsonl there:

    PYTHONPATH=docs/perf/ack_timeline H2_TRACE_DIR=/tmp/t yidi bench pipeline \
        --visits 1000 --rates 1000 --runs 1 --warmup 300 --java-records 0
    python3 docs/perf/ack_timeline/analyze.py /tmp/t 10   # the acks sent in the last 10 s
"""
import os
if os.environ.get("H2_TRACE_DIR"):
    import builtins, time, json, asyncio, sys
    _dir = os.environ["H2_TRACE_DIR"]
    _out = open(os.path.join(_dir, f"trace-{os.getpid()}.jsonl"), "a", buffering=1)
    _orig_import = builtins.__import__
    _done = set()

    def _patch_engine(mod_tx, mod_eng):
        PP = mod_tx.MemberTransactions  # PartitionProducers before stop 27 (one per partition)

        async def _commit(self, producer, parts, member):
            t = {"k": "txn", "p": sorted(parts), "t0": time.time()}
            t["starts"] = {f"{tp.topic}:{tp.partition}": o for part in parts.values() for tp, o in part.starts.items()}
            t["ends"] = {f"{tp.topic}:{tp.partition}": o for part in parts.values() for tp, o in part.offsets.items()}
            outputs = [o for part in parts.values() for o in part.outputs]
            t["n_out"] = len(outputs); t["n_w"] = sum(len(part.writes) for part in parts.values())
            t["n_parts"] = len({(o.topic, hash(o.key)) for o in outputs})
            t["n_topics"] = len({o.topic for o in outputs})
            await producer.begin_transaction()
            offsets = {tp: o for part in parts.values() for tp, o in part.offsets.items()}
            await producer.send_offsets_to_transaction(offsets, member)
            t["t_off"] = time.time()
            futures = [await producer.send(o.topic, value=o.value, key=o.key, headers=o.headers) for o in outputs]
            if self.changelog is not None:
                futures += [await producer.send(self.changelog, value=w.value, key=w.key, partition=p) for p, part in parts.items() for w in part.writes]
            if futures:
                md = await asyncio.gather(*futures)
                t["n_tp"] = len({(m.topic, m.partition) for m in md})
            t["t_sent"] = time.time()
            await producer.commit_transaction()
            t["t_end"] = time.time()
            _out.write(json.dumps(t) + "\n")
        PP._commit = _commit
        SE = mod_eng.StreamEngine
        orig_pb = SE._process_batch_transactional

        async def _pbt(self, batch):
            t0 = time.time() - (time.perf_counter() - self._started)
            n = sum(len(v) for v in batch.values())
            recs = {f"{tp.topic}:{tp.partition}": [(r.offset, r.timestamp, r.timestamp_type) for r in v] for tp, v in batch.items()}
            await orig_pb(self, batch)
            _out.write(json.dumps({"k": "batch", "fetched": t0, "end": time.time(), "n": n, "tps": len(batch), "recs": recs}) + "\n")
        SE._process_batch_transactional = _pbt

    def _patch_sim(run):
        orig_send_all = run._send_all
        async def _send_all(producer, batch, rate, report, sent_at, progress=None):
            n0 = len(report.positions)
            await orig_send_all(producer, batch, rate, report, sent_at, progress)
            for b, s in zip(batch, report.positions[n0:]):
                _out.write(json.dumps({"k": "sent", "id": run.ack_ref(b.ce_id), "tp": f"{s.topic}:{s.partition}", "o": s.offset}) + "\n")
        run._send_all = _send_all
        off = time.time() - time.perf_counter()
        from contracts.ack import Ack
        async def _receive(consumer, sent_at, per_input, report):
            async for records in run.tail(consumer, poll_ms=100, max_records=2000):
                now = time.perf_counter()
                for rec in records:
                    headers = dict(rec.headers)
                    if headers.get("ce_type") != run._ACK_TYPE:
                        continue
                    ack = Ack.model_validate_json(rec.value)
                    report.acks[str(ack.status)] += 1
                    if ack.status == "accepted" and ack.ack_for_type == run.SETTLE_TYPE:
                        report.settle_acks += 1
                    per_input[ack.ack_for] += 1
                    if ack.ack_for in sent_at and per_input[ack.ack_for] == 1:
                        report.record_latency(sent_at[ack.ack_for], now)
                        _out.write(json.dumps({"k": "ack", "id": ack.ack_for, "sent": sent_at[ack.ack_for] + off, "ack_ts": rec.timestamp / 1000, "recv": now + off}) + "\n")
        run._receive = _receive

    def _hook(name, globals=None, locals=None, fromlist=(), level=0):
        m = _orig_import(name, globals, locals, fromlist, level)
        if "eng" not in _done and "events.stream.engine" in sys.modules and "events.stream.transactions" in sys.modules and hasattr(sys.modules["events.stream.engine"], "StreamEngine"):
            _done.add("eng"); _patch_engine(sys.modules["events.stream.transactions"], sys.modules["events.stream.engine"])
        if "sim" not in _done and "services.tools.simulator.run" in sys.modules and hasattr(sys.modules["services.tools.simulator.run"], "_receive"):
            _done.add("sim"); _patch_sim(sys.modules["services.tools.simulator.run"])
        return m
    builtins.__import__ = _hook

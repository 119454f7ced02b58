"""Kafka request mix per process (issue 21, stop 28; docs/performance.md, "Stream-layer CPU per
settlement"). Scratch tooling, not product code: it wraps aiokafka 0.14's
``AIOKafkaConnection.send`` / ``_handle_frame`` and counts, per request type, the requests a
process sends and the bytes of their responses. Every second each process appends its
cumulative counts to ``reqmix-<pid>.jsonl`` (with its command line), so a window (the bench's
publishing) can be cut out afterwards with ``analyze.py``.

Use: put this directory first on PYTHONPATH (the bench's workers inherit it) and set
H2_REQMIX_DIR to an empty directory:

    PYTHONPATH=docs/perf/request_mix H2_REQMIX_DIR=/tmp/m yidi bench pipeline \
        --visits 1000 --rates 1000 --runs 1 --warmup 300 --java-records 0
    python3 docs/perf/request_mix/analyze.py /tmp/m
"""
import os

if os.environ.get("H2_REQMIX_DIR"):
    import json
    import sys
    import threading
    import time

    _dir = os.environ["H2_REQMIX_DIR"]
    _counts: dict = {}
    _lock = threading.Lock()

    def _bump(key, n=1):
        with _lock:
            _counts[key] = _counts.get(key, 0) + n

    def _dump_forever():
        path = os.path.join(_dir, f"reqmix-{os.getpid()}.jsonl")
        argv = " ".join(sys.argv[1:3])
        with open(path, "a", buffering=1) as out:
            while True:
                time.sleep(1.0)
                with _lock:
                    snap = dict(_counts)
                out.write(json.dumps({"t": time.time(), "argv": argv, "c": snap}) + "\n")

    threading.Thread(target=_dump_forever, daemon=True).start()

    def _patch():
        from aiokafka import conn as _conn

        cls = _conn.AIOKafkaConnection
        orig_send, orig_frame = cls.send, cls._handle_frame

        def send(self, request, expect_response=True):
            name = type(request).__name__.split("_v")[0]
            _bump(f"{self._client_id}|{name}")
            if name.startswith("FetchRequest"):
                try:
                    n = sum(len(parts) for _, parts in request.topics)
                except Exception:
                    n = 0
                _bump(f"{self._client_id}|FetchRequest.partitions", n)
            if name == "ProduceRequest":
                for topic, parts in getattr(request, "_topics", ()):
                    kind = topic.split(".v1")[0].split(".H")[0].split(".P")[0]
                    _bump(f"{self._client_id}|produce.{kind}.bytes", sum(len(b) for _, b in parts))
            return orig_send(self, request, expect_response)

        def _handle_frame(self, resp):
            if self._requests:
                req = self._requests[0][1]
                if req is not None:
                    name = type(req).__name__.split("_v")[0]
                    _bump(f"{self._client_id}|{name}.bytes", len(resp))
            return orig_frame(self, resp)

        cls.send = send
        cls._handle_frame = _handle_frame

    import builtins

    _orig_import = builtins.__import__
    _done = []

    def _import(name, *a, **k):
        mod = _orig_import(name, *a, **k)
        conn = sys.modules.get("aiokafka.conn")
        if not _done and conn is not None and hasattr(conn, "AIOKafkaConnection"):
            _done.append(1)
            _patch()
        return mod

    builtins.__import__ = _import

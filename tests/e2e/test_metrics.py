"""Every worker's ``/metrics`` under live traffic: its topics' counters move, and no label
value is personal data (issue 20; docs/metrics.md).

``yidi worker all`` and ``yidi worker supervision`` (each on its own port, as ``make demo``
runs them) take a small simulated day with bad input of every class and one hospital
reconciliation request; each worker's ``/metrics`` is then scraped over HTTP until every
processor shows records in on each of its input topics. The scrape must also show the
outputs per topic, accepted and dead-lettered outcomes, ack latencies, consumer lag and the
sinks' lag against ``sink_offsets``. Every label value of every sample is then scanned for
18-digit resident ID numbers, mobile numbers and the simulated persons' ID and person numbers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import time
import urllib.request
import uuid
from decimal import Decimal
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from contracts.codes import RefdSetlFlag
from contracts.recon import ReconTotals, TotalsReconRequested
from services.entry.bootstrap import build_runtime
from services.runtime.settings import Settings
from services.sdk.client import HospitalClient
from services.sdk.recon import ReconRejected
from services.tools.simulator.bad import kinds_named
from services.tools.simulator.plan import Mix
from services.tools.simulator.run import plan_messages, publish, wait_consumed
from tests.e2e.conftest import Workers

REFERENCE = Path(__file__).resolve().parents[2] / "deploy" / "reference"
VISITS = int(os.environ.get("YIDI_METRICS_VISITS", "80"))
CST = dt.timezone(dt.timedelta(hours=8))
RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
SETTLEMENT, VISIT, REGISTRATION, RECON = (
    "yidi.settlement.v1", "yidi.visit.v1", "yidi.registration.v1", "yidi.recon.v1",
)  # fmt: skip
INPUTS = {
    "all": {
        ("registration", REGISTRATION), ("adjudication", REGISTRATION),
        ("adjudication", VISIT), ("ledger", SETTLEMENT), ("clearing", SETTLEMENT),
        ("recon", RECON),
    },
    "supervision": {("supervision", VISIT), ("supervision", SETTLEMENT)},
}  # fmt: skip
Samples = list[tuple[str, dict[str, str], float]]


def scrape(port: int) -> Samples:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return [
        (s.name, dict(s.labels), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


def total(samples: Samples, name: str, **labels: str) -> float:
    return sum(
        v for n, lab, v in samples if n == name and all(lab.get(k) == x for k, x in labels.items())
    )


async def _reconcile_once(settings: Settings, code: str, region: str) -> None:
    """One 3201 totals request (zeros: the answer may say unbalanced, or refuse it); either
    way the recon worker consumes it and answers on the hospital's ack topic."""
    runtime = build_runtime(settings)
    now = dt.datetime.now(CST).replace(microsecond=0)
    today = now.date()
    zero = Decimal("0.00")
    request = TotalsReconRequested(
        msgid=f"{code}{now:%Y%m%d%H%M%S}0001", infno="3201", fixmedins_code=code,
        mdtrtarea_admvs=region, inf_time=now, setl_optins=region, insutype="310",
        clr_type="11", stmt_begndate=today.replace(day=1), stmt_enddate=today,
        refd_setl_flag=RefdSetlFlag.NORMAL,
        totals=ReconTotals(fixmedins_setl_cnt=0, medfee_sumamt=zero, fund_pay_sumamt=zero, acct_pay=zero),
    )  # fmt: skip
    hospital = HospitalClient(settings.kafka(code), code, runtime.codec)
    await hospital.start()
    try:
        await hospital.reconcile_totals(request, timeout_s=120)
    except ReconRejected:
        pass  # a refusal is an answer too
    finally:
        await hospital.stop()


async def _until_counted(workers: Workers, deadline_s: float) -> dict[str, Samples]:
    """Scrape every worker until each processor counts records in on each of its topics."""
    deadline = time.monotonic() + deadline_s
    while True:
        scraped: dict[str, Samples] = {}
        missing: list[tuple[str, str, str]] = []
        for worker, port in workers.metrics_ports.items():
            try:
                scraped[worker] = scrape(port)
            except OSError:
                scraped[worker] = []
            for processor, topic in sorted(INPUTS[worker]):
                counted = total(
                    scraped[worker], "yidi_records_in_total", processor=processor, topic=topic
                )
                if counted <= 0:
                    missing.append((worker, processor, topic))
        if not missing:
            return scraped
        assert time.monotonic() < deadline, f"no records counted for {missing}"
        await asyncio.sleep(2)


async def test_every_worker_counts_its_topics_and_no_label_is_personal_data(
    workers: Workers,
) -> None:
    settings = Settings()
    runtime = build_runtime(settings)
    run_id = f"metrics-{uuid.uuid4().hex[:8]}"
    mix = Mix(bad_share=0.05, bad_kinds=kinds_named("all"))
    messages = plan_messages(REFERENCE, runtime.codec, VISITS, seed=47, run_id=run_id, mix=mix)
    personal = {b.step.person.certno for b in messages} | {b.step.person.psn_no for b in messages}

    workers.start("all", "all")
    workers.start("supervision", "supervision")
    report = await publish(settings.kafka(), messages, 0, "yidi-adjudication", ack_timeout_s=300)
    assert report.missing == []
    await wait_consumed(settings.kafka(), "yidi-adjudication", VISIT, timeout_s=300)
    code = sorted(c for c, i in runtime.ref.institutions.items() if i.kind == "hospital")[0]
    await _reconcile_once(settings, code, runtime.ref.institutions[code].admdvs)
    scraped = await _until_counted(workers, deadline_s=240)

    adjudication = scraped["all"]
    out = "yidi_records_out_total"
    assert total(adjudication, out, processor="adjudication", topic=SETTLEMENT) > 0
    assert total(adjudication, out, processor="adjudication", topic="yidi.ack.v1.*") > 0
    assert total(adjudication, out, processor="registration", topic="yidi.ack.v1.*") > 0
    assert total(adjudication, out, processor="recon", topic="yidi.ack.v1.*") > 0
    outcomes = "yidi_outcomes_total"
    assert total(adjudication, outcomes, processor="adjudication", outcome="accepted") > 0
    assert total(adjudication, outcomes, outcome="dlq") > 0, "the bad input was dead-lettered"
    assert total(adjudication, outcomes, processor="ledger", outcome="accepted") > 0
    assert total(adjudication, "yidi_ack_latency_seconds_count", processor="adjudication") > 0
    assert any(
        n == "yidi_consumer_lag" and lab["processor"] == "adjudication"
        for n, lab, _ in adjudication
    )
    deadline = time.monotonic() + 30  # the sinks sample their lag every few seconds
    while not any(
        n == "yidi_sink_lag" and lab["processor"] == "ledger" for n, lab, _ in adjudication
    ):
        assert time.monotonic() < deadline, "no sink lag reported by the ledger"
        await asyncio.sleep(2)
        adjudication = scrape(workers.metrics_ports["all"])

    values = {
        v for samples in scraped.values() for _n, labels, _v in samples for v in labels.values()
    }
    assert "yidi.visit.v1" in values, "the scan reads the label values"
    assert any(RESIDENT_ID.search(p) for p in personal), "the pattern finds a simulated ID"
    leaks = sorted(
        v
        for v in values
        if RESIDENT_ID.search(v) or MOBILE.search(v) or any(p in v for p in personal)
    )
    assert leaks == []
    print(  # what was scanned (make test -s shows it)
        f"\nmetrics: {sum(len(s) for s in scraped.values())} samples from "
        f"{len(scraped)} workers, {len(values)} label values, {len(personal)} personal ids: 0 found"
    )

// The dashboard's browser side: charts from Apache ECharts (only the parts used, bundled by
// esbuild at install time: deploy/dashboard/build.sh) and the live page's event stream.
// The pages carry their data as <script type="application/json">; nothing is fetched from
// another origin.
import * as echarts from 'echarts/core';
import { SankeyChart, GaugeChart, BarChart } from 'echarts/charts';
import { TooltipComponent, GridComponent, TitleComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([SankeyChart, GaugeChart, BarChart, TooltipComponent, GridComponent, TitleComponent, CanvasRenderer]);

const YELLOW = '#e0b000';
const RED = '#c62828';
const GREEN = '#3a9d5d';

function json(id) {
  const el = document.getElementById(id);
  return el ? JSON.parse(el.textContent) : null;
}

function mark(el, chart) {
  chart.on('finished', () => { el.dataset.rendered = '1'; });
  window.addEventListener('resize', () => chart.resize());
}

function flowChart() {
  const el = document.getElementById('flow-chart');
  const data = json('flow-data');
  if (!el || !data) return;
  const chart = echarts.init(el);
  mark(el, chart);
  el.dataset.links = String(data.links.length);
  chart.setOption({
    animation: false,
    tooltip: { trigger: 'item', formatter: (p) => p.dataType === 'edge' ? `${p.data.source} → ${p.data.target}<br>${p.data.label}` : p.name },
    series: [{
      type: 'sankey', data: data.nodes, links: data.links, nodeAlign: 'justify', layoutIterations: 32,
      emphasis: { focus: 'adjacency' }, lineStyle: { color: 'gradient', curveness: 0.5, opacity: 0.45 },
      label: { fontSize: 12 },
    }],
  });
}

function netsChart() {
  const el = document.getElementById('nets-chart');
  const data = json('nets-data');
  if (!el || !data || !data.labels.length) return;
  const chart = echarts.init(el);
  mark(el, chart);
  chart.setOption({
    animation: false,
    grid: { left: 150, right: 30, top: 10, bottom: 25 },
    xAxis: { type: 'value' },
    yAxis: { type: 'category', data: data.labels, inverse: true },
    tooltip: { trigger: 'axis' },
    series: [{ type: 'bar', data: data.values.map((v) => ({ value: v, itemStyle: { color: v < 0 ? RED : GREEN } })) }],
  });
}

function gauges() {
  for (const script of document.querySelectorAll('script.gauge-data')) {
    const el = document.getElementById(script.dataset.for);
    const g = JSON.parse(script.textContent);
    const chart = echarts.init(el);
    mark(el, chart);
    chart.setOption({
      animation: false,
      series: [{
        type: 'gauge', min: 0, max: g.max, splitNumber: 6,
        axisLine: { lineStyle: { width: 14, color: [[g.yellow, GREEN], [g.red, YELLOW], [1, RED]] } },
        pointer: { itemStyle: { color: 'auto' } },
        axisLabel: { formatter: (v) => `${Math.round(v)}%`, fontSize: 10, distance: 18 },
        detail: { formatter: '{value} %', fontSize: 18, valueAnimation: false, offsetCenter: [0, '78%'] },
        title: { show: false },
        data: [{ value: g.value }],
      }],
    });
  }
}

function live() {
  const status = document.getElementById('live-status');
  if (!status) return;
  const latest = document.querySelector('#live-latest tbody');
  const pairsBody = document.querySelector('#live-pairs tbody');
  const countEl = document.getElementById('live-count');
  const el = document.getElementById('live-chart');
  const chart = echarts.init(el);
  mark(el, chart);
  const pairs = new Map();
  let count = 0;
  let dirty = false;
  const draw = () => {
    dirty = false;
    const rows = [...pairs.entries()].sort((a, b) => b[1].count - a[1].count);
    pairsBody.replaceChildren(...rows.map(([k, v]) => {
      const tr = document.createElement('tr');
      tr.dataset.pair = k;
      for (const [text, num] of [[v.home, false], [v.treatment, false], [String(v.count), true], [v.fund.toFixed(2), true]]) {
        const td = document.createElement('td');
        td.textContent = text;
        if (num) td.className = 'num';
        tr.appendChild(td);
      }
      return tr;
    }));
    const top = rows.slice(0, 12);
    chart.setOption({
      animation: false,
      grid: { left: 260, right: 20, top: 10, bottom: 25 },
      xAxis: { type: 'value' },
      yAxis: { type: 'category', inverse: true, data: top.map(([, v]) => `${v.home} → ${v.treatment}`) },
      series: [{ type: 'bar', data: top.map(([, v]) => v.count), itemStyle: { color: '#14325c' } }],
    });
  };
  const source = new EventSource('/events');
  source.onopen = () => { status.textContent = 'connected: waiting for settlements'; status.dataset.state = 'open'; };
  source.onerror = () => { status.textContent = 'disconnected: reconnecting…'; status.dataset.state = 'error'; };
  source.addEventListener('landed', (ev) => {
    const received = Date.now();
    const u = JSON.parse(ev.data);
    count += u.count;
    countEl.textContent = String(count);
    for (const p of u.pairs) {
      const k = `${p.home}|${p.treatment}`;
      const v = pairs.get(k) || { home: p.home, treatment: p.treatment, count: 0, fund: 0 };
      v.count += p.count;
      v.fund += Number(p.fund);
      pairs.set(k, v);
    }
    for (const r of u.latest) {
      const tr = document.createElement('tr');
      tr.dataset.setlId = r.setl_id;
      tr.dataset.receivedMs = String(received);
      for (const [text, num] of [[r.setl_id, false], [r.kind, false], [r.home, false], [r.treatment, false], [r.fund, true], [r.landed_at, false]]) {
        const td = document.createElement('td');
        td.textContent = text;
        if (num) td.className = 'num';
        tr.appendChild(td);
      }
      latest.prepend(tr);
    }
    while (latest.rows.length > 50) latest.deleteRow(-1);
    status.textContent = `connected: last batch at ${new Date(received).toLocaleTimeString()}`;
    dirty = true;
  });
  // the rows go in as they arrive; the chart and the pair table are redrawn at most once a
  // second (at 1,000 visits/s the ledger lands several batches a second)
  setInterval(() => { if (dirty) draw(); }, 1000);
  draw();
}

flowChart();
netsChart();
gauges();
live();

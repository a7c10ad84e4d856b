/*
 * bench/report: turns raw runs into bench/results.json, the generated part of
 * docs/benchmarks.md (between the bench markers) and docs/benchmarks.svg.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { median } = require('./common.js');

/**
 * Every figure the report shows. better: which direction wins. target(c, b): true/false when
 * the figure carries one of the issue's targets, with the target's wording in `goal`.
 */
const FIGURES = [
  { id: 'rtt.p50', scenario: 'rtt', key: 'p50', label: 'Round trip A→B→A, p50', unit: 'ms', better: 'lower', digits: 3,
    goal: '≤ baseline', target: (c, b) => c <= b, chart: true },
  { id: 'rtt.p99', scenario: 'rtt', key: 'p99', label: 'Round trip A→B→A, p99', unit: 'ms', better: 'lower', digits: 3,
    goal: '≤ baseline', target: (c, b) => c <= b, chart: true },
  { id: 'tput1.rate', scenario: 'tput1', key: 'rate', label: 'Throughput, 1 sender → 1 receiver', unit: 'signals/s', better: 'higher', digits: 0, chart: true },
  { id: 'tput1.procCpuPer1k', scenario: 'tput1', key: 'procCpuPer1k', label: 'Throughput 1→1: process CPU per 1,000 signals', unit: 'ms', better: 'lower', digits: 1 },
  { id: 'tput100.rate', scenario: 'tput100', key: 'rate', label: 'Throughput, 100 sessions (50 pairs), aggregate', unit: 'signals/s', better: 'higher', digits: 0, chart: true },
  { id: 'tput100.procCpuPer1k', scenario: 'tput100', key: 'procCpuPer1k', label: 'Throughput 100: process CPU per 1,000 signals', unit: 'ms', better: 'lower', digits: 1 },
  { id: 'fanin.mainCpuPer1k', scenario: 'fanin', key: 'mainCpuPer1k', label: 'Fan-in 1,000 sessions: main-thread CPU per 1,000 signals', unit: 'ms', better: 'lower', digits: 1,
    goal: '≤ ½ baseline', target: (c, b) => c <= b / 2, chart: true },
  { id: 'fanin.procCpuPer1k', scenario: 'fanin', key: 'procCpuPer1k', label: 'Fan-in: process CPU (all threads) per 1,000 signals', unit: 'ms', better: 'lower', digits: 1, chart: true },
  { id: 'fanin.elu', scenario: 'fanin', key: 'elu', label: 'Fan-in: event-loop utilisation', unit: '%', scale: 100, better: 'lower', digits: 1 },
  { id: 'fanin.p50', scenario: 'fanin', key: 'p50', label: 'Fan-in: delivery latency p50', unit: 'ms', better: 'lower', digits: 2 },
  { id: 'fanin.p99', scenario: 'fanin', key: 'p99', label: 'Fan-in: delivery latency p99', unit: 'ms', better: 'lower', digits: 2, chart: true },
  { id: 'fanin.rssPerSessionKB', scenario: 'fanin', key: 'rssPerSessionKB', label: 'Fan-in: resident memory per session', unit: 'KB', better: 'lower', digits: 1 },
  { id: 'storm.ms', scenario: 'storm', key: 'ms', label: 'Connect storm: 1,000 sessions all connected', unit: 'ms', better: 'lower', digits: 0,
    goal: '< 2,000 ms', target: (c) => c < 2000, chart: true },
  { id: 'idle.rssPerSessionKB', scenario: 'idle', key: 'rssPerSessionKB', label: 'Idle 1,000 sessions: resident memory per session', unit: 'KB', better: 'lower', digits: 1,
    goal: '≤ baseline and < 30 KB', target: (c, b) => c <= b && c < 30, chart: true },
  { id: 'idle.procCpuPct', scenario: 'idle', key: 'procCpuPct', label: 'Idle 1,000 sessions: process CPU', unit: '% of a core', better: 'lower', digits: 2 },
  { id: 'rttSelf.p50', scenario: 'rttSelf', key: 'p50', label: 'Floor: signal to oneself (server answers), p50', unit: 'ms', better: 'lower', digits: 3 },
  { id: 'rttSelf.p99', scenario: 'rttSelf', key: 'p99', label: 'Floor: signal to oneself (server answers), p99', unit: 'ms', better: 'lower', digits: 3 },
];

function stats(values) {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return null;
  return { median: median(v), min: Math.min(...v), max: Math.max(...v), runs: v.length };
}

function summarize(raw) {
  const out = [];
  for (const f of FIGURES) {
    const r = raw[f.scenario];
    if (!r) continue;
    const pick = (client) => (r[client] ? stats(r[client].map((x) => x[f.key] * (f.scale ?? 1))) : null);
    const convene = pick('convene');
    const baseline = pick('baseline');
    const ratio = convene && baseline && baseline.median !== 0 ? convene.median / baseline.median : null;
    let met = null;
    if (f.target && convene && (baseline || f.target.length === 1)) met = f.target(convene.median, baseline ? baseline.median : NaN);
    out.push({ id: f.id, label: f.label, unit: f.unit, better: f.better, goal: f.goal ?? null, convene, baseline, ratio, met });
  }
  if (raw.tcpEcho?.none) {
    const s = (k) => stats(raw.tcpEcho.none.map((x) => x[k]));
    out.push({ id: 'tcpEcho.p50', label: 'Floor: raw TCP echo (64 B, Node on both ends, no client), p50', unit: 'ms', better: 'lower', goal: null, convene: null, baseline: null, machine: s('p50'), ratio: null, met: null });
    out.push({ id: 'tcpEcho.p99', label: 'Floor: raw TCP echo (64 B, Node on both ends, no client), p99', unit: 'ms', better: 'lower', goal: null, convene: null, baseline: null, machine: s('p99'), ratio: null, met: null });
  }
  return out;
}

function fmt(x, digits) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function cell(s, digits) {
  if (!s) return '–';
  if (s.runs === 1) return fmt(s.median, digits);
  return `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
}

function markdown(results, summary) {
  const m = results.machine;
  const digitsOf = (id) => (FIGURES.find((f) => f.id === id) ?? { digits: 3 }).digits;
  const lines = [];
  lines.push(`Generated by \`npm run bench${results.mode === 'quick' ? ' -- --quick' : ''}\` on ${results.date.slice(0, 10)} (${results.mode} mode, ${results.runs} run${results.runs === 1 ? '' : 's'} per client, ${results.seconds} s in all). Raw figures: [bench/results.json](../bench/results.json).`);
  lines.push('');
  lines.push(`Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}, libwebsockets ${m.libwebsockets}, jansson ${m.jansson}, ws ${m.ws}; commit ${m.commit}.`);
  lines.push('');
  lines.push('Each cell: median (min–max) over the runs. Ratio = Convene ÷ baseline (below 1 is better for "lower" figures, above 1 for "higher" ones).');
  lines.push('');
  lines.push('| Figure | Unit | Better | Convene | ws baseline | Ratio | Target | Met |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const s of summary) {
    const d = digitsOf(s.id);
    // a floor figure belongs to no client: it is shown in both columns
    const conv = s.machine ? cell(s.machine, d) : cell(s.convene, d);
    const base = s.machine ? cell(s.machine, d) : cell(s.baseline, d);
    lines.push(`| ${s.label} | ${s.unit} | ${s.better} | ${conv} | ${base} | ${s.ratio === null ? '–' : fmt(s.ratio, 2)} | ${s.goal ?? ''} | ${s.met === null ? '' : s.met ? 'yes' : '**no**'} |`);
  }
  lines.push('');
  lines.push('![Convene ÷ baseline](benchmarks.svg)');
  return lines.join('\n');
}

function svg(summary) {
  const rows = summary.filter((s) => FIGURES.find((f) => f.id === s.id)?.chart && s.ratio !== null);
  const W = 760, rowH = 34, top = 50, left = 330, barMax = 360;
  const H = top + rows.length * rowH + 40;
  const maxRatio = Math.max(2, ...rows.map((r) => r.ratio));
  const x = (v) => left + (v / maxRatio) * barMax;
  const esc = (t) => String(t).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  parts.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">Convene ÷ ws baseline (median)</text>`);
  parts.push(`<text x="${W / 2}" y="38" text-anchor="middle" fill="#555">green: Convene better · red: baseline better · line at 1.0 = equal</text>`);
  rows.forEach((r, i) => {
    const y = top + i * rowH;
    const good = r.better === 'lower' ? r.ratio <= 1 : r.ratio >= 1;
    parts.push(`<text x="${left - 8}" y="${y + 21}" text-anchor="end">${esc(r.label.length > 52 ? `${r.label.slice(0, 50)}…` : r.label)} (${r.better})</text>`);
    parts.push(`<rect x="${left}" y="${y + 8}" width="${Math.max(1, x(r.ratio) - left).toFixed(1)}" height="18" fill="${good ? '#2e9e5b' : '#d1495b'}"/>`);
    parts.push(`<text x="${(x(r.ratio) + 6).toFixed(1)}" y="${y + 21}">${r.ratio.toFixed(2)}×</text>`);
  });
  parts.push(`<line x1="${x(1)}" y1="${top}" x2="${x(1)}" y2="${top + rows.length * rowH}" stroke="#000" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${x(1)}" y="${top + rows.length * rowH + 16}" text-anchor="middle">1.0</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

const START = '<!-- bench:start (generated by npm run bench; edits between the markers are overwritten) -->';
const END = '<!-- bench:end -->';

function writeReport(results, root) {
  const summary = summarize(results.raw);
  const json = { ...results, summary };
  fs.writeFileSync(path.join(root, 'bench', 'results.json'), `${JSON.stringify(json, null, 2)}\n`);
  fs.writeFileSync(path.join(root, 'docs', 'benchmarks.svg'), `${svg(summary)}\n`);
  const mdPath = path.join(root, 'docs', 'benchmarks.md');
  const md = fs.existsSync(mdPath) ? fs.readFileSync(mdPath, 'utf8') : '# Benchmarks\n';
  const block = `${START}\n${markdown(results, summary)}\n${END}`;
  const a = md.indexOf(START);
  const b = md.indexOf(END);
  const next = a >= 0 && b > a ? md.slice(0, a) + block + md.slice(b + END.length) : `${md.trimEnd()}\n\n${block}\n`;
  fs.writeFileSync(mdPath, next);
  return summary.map((s) => `${s.id}: convene ${s.convene ? fmt(s.convene.median, 3) : '–'} baseline ${s.baseline ? fmt(s.baseline.median, 3) : '–'} ratio ${s.ratio === null ? '–' : fmt(s.ratio, 2)}${s.met === null ? '' : s.met ? ' (met)' : ' (NOT met)'}`).join('\n');
}

module.exports = { writeReport, summarize, FIGURES };

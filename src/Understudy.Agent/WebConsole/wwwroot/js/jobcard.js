// One job's card: state and reason, mirror progress, replication chart, last verification, the
// fail-over of a hosted copy (failover.js), any other status fields (shown generically), and the
// actions that apply.
import { h, setText, fmtBytes, fmtSeconds, fmtTime, announce } from './dom.js';
import { LineChart } from './chart.js';
import { ACTIONS, actionPath, runAction } from './actions.js';
import { FailoverPanel, WitnessLine } from './failover.js';

const KNOWN = new Set(['name', 'role', 'state', 'reason', 'target', 'targetPath', 'sourcePaths', 'mirror', 'mirrored',
  'lastMirrorAt', 'lastVerify', 'replication', 'monitor', 'failover', 'actions', 'sourceId', 'sourceName', 'connected', 'witness']);

let seq = 0;

export class JobCard {
  constructor(name, role, ctx) {
    this.name = name;
    this.role = role;
    this.ctx = ctx;
    this.client = ctx.client;
    this.supports = ctx.supports;
    this.charts = new Map();
    const id = `job-${++seq}`;
    this.state = h('span', { class: 'state' });
    this.reason = h('span', { class: 'reason' });
    this.route = h('p', { class: 'route' });
    this.progressBar = h('progress', { max: '100', value: '0', 'aria-labelledby': `${id}-pl` });
    this.progressText = h('span', { id: `${id}-pl` });
    this.progress = h('div', { class: 'progress', hidden: true }, this.progressBar, this.progressText);
    this.chartBox = h('div', { class: 'charts', hidden: true });
    this.verify = h('div', { class: 'verify', hidden: true });
    this.witness = new WitnessLine(); // the source's hold on its witness key (status `witness`)
    this.failover = null; // a FailoverPanel once the hosting agent reports a fail-over for this copy
    this.extra = h('dl', { class: 'extra' });
    this.extraBox = h('details', { hidden: true }, h('summary', {}, 'More status'), this.extra);
    this.message = h('p', { class: 'action-msg', 'aria-live': 'polite' });
    this.buttons = new Map();
    const bar = h('div', { class: 'actions', role: 'group', 'aria-label': `Actions for ${name}` });
    for (const a of ACTIONS) {
      const b = h('button', { type: 'button', hidden: true, class: a.danger ? 'danger' : '', 'data-action': a.id, onclick: () => this.act(a) }, a.label);
      this.buttons.set(a.id, b);
      bar.append(b);
    }
    this.root = h('article', { class: `job role-${role}`, 'aria-labelledby': id, 'data-job': name, 'data-role': role },
      h('h4', { id }, name, h('span', { class: 'role' }, role === 'source' ? ' (source)' : ' (target copy)')),
      h('p', { class: 'state-line', 'aria-live': 'polite' }, this.state, this.reason),
      this.route, this.witness.root, this.progress, this.chartBox, this.verify, this.extraBox, bar, this.message);
    this.actionBar = bar;
  }

  /** `failover` is this hosted copy's entry of the target agent's status `failover` list, if any. */
  update(s, failover) {
    this.last = s;
    const state = s.state ?? (this.role === 'target' ? (s.connected ? 'receiving' : 'idle') : 'unknown');
    setText(this.state, state);
    // "failed-over (passive)" is coloured as failed-over: the first word is the state, the rest its detail.
    const cls = state.split(' ')[0].replace(/[^a-z-]/g, '');
    this.state.className = `state state-${cls}`;
    this.root.dataset.state = cls;
    setText(this.reason, s.reason ? ` — ${s.reason}` : '');
    setText(this.route, this.role === 'source'
      ? `${(s.sourcePaths ?? []).join(', ')} → ${s.target}:${s.targetPath}`
      : `from ${s.sourceName ?? s.sourceId ?? '?'} → ${s.targetPath ?? ''}`);
    this.updateProgress(s.mirror);
    this.updateCharts(s.replication);
    this.updateVerify(s.lastVerify);
    this.witness.update(s.witness ?? null);
    this.updateFailover(failover);
    this.updateExtra(s);
    this.updateButtons(s, state);
  }

  updateFailover(f) {
    if (f && !this.failover) {
      this.failover = new FailoverPanel(this.name, this.ctx);
      this.actionBar.before(this.failover.root);
    }
    if (this.failover) {
      this.failover.root.hidden = !f;
      if (f) this.failover.update(f);
    }
    // The card's edge follows the fail-over when that is what matters now.
    this.root.dataset.failover = f?.state ?? '';
  }

  updateProgress(m) {
    this.progress.hidden = !m;
    if (!m) return;
    let pct = m.bytesTotal > 0 ? (m.bytesDone / m.bytesTotal) * 100 : m.filesTotal > 0 ? (m.filesDone / m.filesTotal) * 100 : 0;
    if (m.finishedAt || m.phase === 'complete') pct = 100;
    pct = Math.min(100, Math.floor(pct));
    this.progressBar.value = pct;
    const eta = m.finishedAt ? `finished ${fmtTime(m.finishedAt)}` : `ETA ${fmtSeconds(m.etaSeconds)}`;
    setText(this.progressText, `Mirror (${m.mode}) ${m.phase}: ${pct}% · ${m.filesDone}/${m.filesTotal} files · ${fmtBytes(m.bytesDone)} of ${fmtBytes(m.bytesTotal)} · ${fmtBytes(m.rateBytesPerSecond)}/s · ${eta}`);
    this.progress.dataset.percent = String(pct);
  }

  /** Any number in `replication` named like a queue or a lag gets a live chart. */
  updateCharts(rep) {
    // A charted number that turns null (e.g. the age of the oldest pending change once nothing is pending) is drawn as 0,
    // not left at its last value.
    const nums = rep && typeof rep === 'object'
      ? Object.entries(rep).filter(([k, v]) => (typeof v === 'number' || (v === null && this.charts.has(k))) && /queue|lag|pending|backlog/i.test(k))
      : [];
    this.chartBox.hidden = nums.length === 0;
    for (const [k, v] of nums) {
      let c = this.charts.get(k);
      if (!c) {
        const fmt = /bytes/i.test(k) ? fmtBytes : /seconds/i.test(k) ? (x) => `${Number(x).toFixed(1)} s` : /ms$/i.test(k) ? (x) => `${Math.round(x)} ms` : (x) => String(x);
        c = new LineChart(humanize(k), fmt);
        this.charts.set(k, c);
        this.chartBox.append(c.root);
      }
      c.push(v ?? 0);
    }
  }

  updateVerify(v) {
    this.verify.hidden = !v;
    if (!v) return;
    const key = `${v.at}|${v.differences?.length}|${v.scheduled}`;
    if (this.verifyKey === key) return;
    this.verifyKey = key;
    const n = v.differences?.length ?? 0;
    const which = v.scheduled ? 'Last verification (scheduled)' : 'Last verification';
    const summary = n === 0
      ? `${which} ${fmtTime(v.at)}: identical (${v.entriesChecked} entries${v.checksum ? ', by content' : ''})`
      : `${which} ${fmtTime(v.at)}: ${n} difference${n === 1 ? '' : 's'}${v.repaired ? ' remain after repair' : ''}`;
    const list = n === 0 ? null : h('details', {}, h('summary', {}, 'Show differences'),
      h('table', {}, h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Kind'), h('th', { scope: 'col' }, 'Path'), h('th', { scope: 'col' }, 'Detail'))),
        h('tbody', {}, ...v.differences.slice(0, 500).map(d => h('tr', {}, h('td', {}, d.kind), h('td', {}, d.path), h('td', {}, d.detail ?? ''))))));
    this.verify.replaceChildren(h('p', { class: n === 0 ? 'ok' : 'warn' }, summary), list ?? '');
  }

  updateExtra(s) {
    const rows = Object.entries(s).filter(([k, v]) => !KNOWN.has(k) && v !== null && v !== undefined);
    this.extraBox.hidden = rows.length === 0;
    const key = JSON.stringify(rows);
    if (key === this.extraKey) return;
    this.extraKey = key;
    this.extra.replaceChildren(...rows.flatMap(([k, v]) => [h('dt', {}, humanize(k)), h('dd', {}, typeof v === 'object' ? JSON.stringify(v) : String(v))]));
  }

  updateButtons(s, state) {
    const listed = Array.isArray(s.actions) ? new Set(s.actions.map(String)) : null;
    // A stopped job runs nothing: only start applies (mirror and verify would be refused).
    const stopped = state === 'stopped';
    for (const a of ACTIONS) {
      const route = this.supports(`POST /api/v1/jobs/{name}/${actionPath(a)}`);
      let show;
      // Job actions are calls on the source agent; a hosted copy's actions are its fail-over's.
      if (this.role !== 'source') show = false;
      else if (a.sourceOnly) show = !stopped;
      else if (!route) show = false;
      else if (listed) show = listed.has(a.id);
      else if (a.id === 'start') show = stopped;
      else if (a.id === 'stop') show = !stopped;
      else if (a.id === 'pause') show = !stopped && state !== 'paused';
      else if (a.id === 'resume') show = state === 'paused';
      else show = true;
      this.buttons.get(a.id).hidden = !show;
    }
    // Stop turns into Start (pause into resume) once the agent reports the new state: keep the keyboard
    // focus on the card's control for it rather than losing it to the page when the pressed button hides.
    if (this.focusNext) {
      const { from, to } = this.focusNext;
      const next = this.buttons.get(to);
      if (!next.hidden) {
        const active = document.activeElement;
        if (!active || active === document.body || active === this.buttons.get(from)) next.focus();
        this.focusNext = null;
      }
    }
  }

  async act(a) {
    const button = this.buttons.get(a.id);
    button.disabled = true;
    this.message.className = 'action-msg';
    try {
      if (a.id === 'verify') setText(this.message, 'Verifying…');
      const res = await runAction(a, this.name, this.last ?? {}, this.client);
      if (res === null) { setText(this.message, ''); return; }
      if (a.id === 'verify') this.updateVerify(res);
      if (a.pair) this.focusNext = { from: a.id, to: a.pair };
      const diffs = res?.differences?.length ?? 0;
      const outcome = a.id === 'verify' ? `${diffs} difference${diffs === 1 ? '' : 's'}` : res?.state ?? 'requested';
      const done = `${a.label.replace('…', '')} of ${this.name}: ${outcome}`;
      setText(this.message, done);
      announce(done);
    } catch (e) {
      this.message.className = 'action-msg error';
      setText(this.message, `${a.label.replace('…', '')} failed: ${e.message}`);
    } finally {
      button.disabled = false;
      button.focus();
    }
  }
}

export function humanize(key) {
  return key.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/[_-]/g, ' ').toLowerCase();
}

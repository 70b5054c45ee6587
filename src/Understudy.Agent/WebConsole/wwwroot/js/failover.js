// The fail-over of a job on its target agent (GET /api/v1/status → failover[]): the state, each
// watched address of the source, the time left before fail-over, after a fail-over the restore
// (phase, files and bytes, conflicts), and the operator's actions (POST /api/v1/failover/{name},
// and /restore, /failback when the agent has them). Built once and updated in place, so focus and
// screen-reader position survive the live updates.
import { h, setText, fmtBytes, fmtSeconds, fmtTime, announce } from './dom.js';
import { confirmDialog, checkbox, schemaFields, formBody } from './actions.js';

// The colour an operator reads at a glance: green protected, amber look at it, red decide now,
// blue in progress. The state is always written too.
const TONE = {
  protecting: 'ok',
  suspect: 'warn',
  'fail-over-pending': 'bad',
  'failing-over': 'busy',
  'failed-over': 'warn',
  restoring: 'busy',
  'failing-back': 'busy',
};

const MONITORED = new Set(['protecting', 'suspect', 'fail-over-pending']);

// The witness's state (docs/api.md, Witness), on the target (its last claim) and on the source (its hold): amber
// means a fail-over would be refused or the source is fenced, red that nothing can be decided without it.
const WITNESS_TONE = {
  'held by the source': 'ok',
  held: 'ok',
  'held by this target': 'busy',
  'held by the target': 'warn',
  passive: 'warn',
  released: 'plain',
  unknown: 'plain',
  starting: 'plain',
  'renewal failing': 'warn',
  unreachable: 'bad',
  fenced: 'bad',
};

// The restore's phase (docs/api.md, Restore): waiting is amber (the source agent must come back),
// stopped is red (an operator must look at a conflict).
const RESTORE_TONE = {
  'waiting for the source': 'warn',
  mirroring: 'busy',
  'in sync': 'ok',
  stopped: 'bad',
};

let panelSeq = 0;

// Restore and fail back are the `failback` work (issue 5): shown only when the agent's OpenAPI lists them.
const EXTRA = [
  { id: 'restore', label: 'Restore…', title: 'Restore', states: ['failed-over'],
    message: 'Restore: copy the data changed on this target back to the source, so it can take its identity back. The target keeps serving meanwhile.' },
  { id: 'failback', label: 'Fail back…', title: 'Fail back', danger: true, states: ['failed-over', 'restoring'],
    message: 'Fail back: this target gives the identity (addresses, name, shares) back to the source and protects it again.' },
];

export class FailoverPanel {
  constructor(jobName, ctx) {
    this.name = jobName;
    this.ctx = ctx; // { client, supports(routeKey), schema(routeKey) }
    this.addrItems = new Map();
    this.state = h('span', { class: 'fo-state' });
    this.reason = h('span', { class: 'fo-reason' });
    this.settings = h('p', { class: 'fo-settings muted' });
    this.timeLeft = h('p', { class: 'fo-left' });
    this.witness = new WitnessLine();
    this.pending = h('p', { class: 'pending', role: 'alert', hidden: true });
    this.addresses = h('ul', { class: 'addresses', 'aria-label': `Watched addresses of the source of ${jobName}` });
    this.steps = h('div', { class: 'fo-steps', hidden: true });
    this.restore = new RestoreView(jobName);
    this.message = h('p', { class: 'action-msg', 'aria-live': 'polite' });
    this.buttons = new Map();
    const bar = h('div', { class: 'actions', role: 'group', 'aria-label': `Fail-over actions for ${jobName}` });
    const add = (id, label, onclick, danger = false) => {
      const b = h('button', { type: 'button', hidden: true, class: danger ? 'danger' : '', 'data-action': id, onclick }, label);
      this.buttons.set(id, b);
      bar.append(b);
    };
    add('failover', 'Fail over…', () => this.run('failover', () => this.failOver()), true);
    add('dismiss', 'Dismiss…', () => this.run('dismiss', () => this.dismiss()));
    add('dryrun', 'Show fail-over steps', () => this.run('dryrun', () => this.dryRun()));
    for (const a of EXTRA) add(a.id, a.label, () => this.run(a.id, () => this.extra(a)), !!a.danger);
    this.root = h('section', { class: 'failover', 'aria-label': `Fail-over of ${jobName}` },
      h('p', { class: 'fo-head', 'aria-live': 'polite' }, h('strong', {}, 'Fail-over: '), this.state, this.reason),
      this.settings, this.witness.root, this.pending, this.restore.root, this.addresses, this.timeLeft, this.steps, bar, this.message);
  }

  base() {
    return `/api/v1/failover/${encodeURIComponent(this.name)}`;
  }

  update(f) {
    this.last = f;
    const state = f.state ?? 'unknown';
    setText(this.state, state);
    const tone = TONE[state] ?? 'unknown';
    this.state.className = `fo-state tone-${tone}`;
    this.root.dataset.state = state;
    this.root.dataset.tone = tone;
    setText(this.reason, f.reason ? ` — ${f.reason}` : '');
    const interval = f.intervalSeconds;
    setText(this.settings, `Trigger ${f.trigger ?? '?'} · identity ${f.mode ?? '?'} · policy ${f.policy ?? '?'} · probe every ${fmtInterval(interval)}, ${f.misses ?? '?'} misses to lose an address`);
    const pending = state === 'fail-over-pending';
    this.pending.hidden = !pending;
    setText(this.pending, pending
      ? `Fail-over pending: the source ${f.sourceName ?? ''} is not answering. Fail over, or dismiss if the source is fine (a network cut).`
      : '');
    this.witness.update(f.witness ?? null);
    this.restore.update(f.restore ?? null);
    this.updateAddresses(f);
    setText(this.timeLeft, timeLeftText(f, state));
    this.timeLeft.className = `fo-left tone-${f.timeLeftSeconds !== null && f.timeLeftSeconds !== undefined && MONITORED.has(state) && state !== 'protecting' ? 'warn' : 'plain'}`;
    // A dry run describes a fail-over that can still happen; once the state moved on it is history.
    if (!MONITORED.has(state)) this.steps.hidden = true;
    this.updateButtons(f, state);
  }

  updateAddresses(f) {
    const limit = f.misses ?? 0;
    const seen = new Set();
    for (const a of f.addresses ?? []) {
      const key = `${a.address}|${a.method}|${a.port ?? ''}`;
      seen.add(key);
      let item = this.addrItems.get(key);
      if (!item) {
        const text = h('span', { class: 'addr-text' });
        // Green with no miss, amber while missing, red once lost (high is just below the limit: a meter's top region starts above `high`).
        const meter = h('meter', { min: '0', max: String(Math.max(1, limit)), low: '0.5', high: String(Math.max(0.5, limit - 0.5)), optimum: '0', value: '0' });
        const li = h('li', { class: 'addr' }, h('span', { class: 'dot', 'aria-hidden': 'true' }), text, meter);
        item = { li, text, meter };
        this.addrItems.set(key, item);
        this.addresses.append(li);
      }
      const lost = a.state !== 'up' && limit > 0 && a.misses >= limit;
      const cls = a.state === 'up' ? 'up' : lost ? 'lost' : a.state === 'missing' ? 'missing' : 'unknown';
      const word = cls === 'lost' ? 'lost' : cls;
      item.li.className = `addr addr-${cls}`;
      item.li.dataset.state = word;
      const where = a.port ? `${a.address}:${a.port}` : a.address;
      const misses = a.misses <= 0 ? '' : a.misses <= limit ? ` · ${a.misses} of ${limit} probes missed` : ` · ${a.misses} probes missed in a row (lost at ${limit})`;
      const reply = a.lastReply ? ` · last reply ${fmtTime(a.lastReply)}${ago(a.lastReply)}` : ' · no reply yet';
      setText(item.text, `${where} (${a.method}): ${word}${misses}${reply}`);
      item.meter.value = Math.min(a.misses ?? 0, Math.max(1, limit));
      item.meter.setAttribute('aria-label', `${where}: ${a.misses ?? 0} of ${limit} probes missed`);
    }
    for (const [k, item] of this.addrItems) {
      if (!seen.has(k)) { item.li.remove(); this.addrItems.delete(k); }
    }
  }

  updateButtons(f, state) {
    // Words compared without punctuation or case, so "fail-back", "failBack" and "failback" are one action.
    const norm = (x) => String(x).toLowerCase().replace(/[^a-z]/g, '');
    const listed = Array.isArray(f.actions) ? new Set(f.actions.map(norm)) : null;
    const can = (id, fallback) => (listed ? listed.has(id) : fallback);
    const post = this.ctx.supports('POST /api/v1/failover/{name}');
    this.buttons.get('failover').hidden = !(post && can('failover', MONITORED.has(state)));
    this.buttons.get('dismiss').hidden = !(post && can('dismiss', state === 'suspect' || state === 'fail-over-pending'));
    this.buttons.get('dryrun').hidden = !(post && can('dryrun', MONITORED.has(state)));
    for (const a of EXTRA)
      this.buttons.get(a.id).hidden = !(this.ctx.supports(`POST /api/v1/failover/{name}/${a.id}`) && can(a.id, a.states.includes(state)));
  }

  /** Runs one action with its button disabled, and reports the result or the agent's problem detail. */
  async run(id, fn) {
    const button = this.buttons.get(id);
    button.disabled = true;
    this.message.className = 'action-msg';
    try {
      const done = await fn();
      if (done) { setText(this.message, done); announce(done); }
    } catch (e) {
      this.message.className = 'action-msg error';
      setText(this.message, `${button.textContent.replace('…', '')} failed: ${e.message}`);
    } finally {
      button.disabled = false;
      if (!button.hidden) button.focus();
    }
  }

  async planSteps(force = false) {
    const r = await this.ctx.client.post(this.base(), { dismiss: false, dryRun: true, force });
    return r.steps ?? [];
  }

  async dryRun() {
    const steps = await this.planSteps();
    this.showSteps('Fail-over steps (dry run: nothing was changed)', steps);
    const n = stepItems(steps).length;
    return `Dry run of ${this.name}: ${n} step${n === 1 ? '' : 's'}, nothing changed`;
  }

  showSteps(title, steps) {
    const id = `${this.name}-steps-h`;
    this.steps.replaceChildren(
      h('h5', { id }, title),
      h('ol', { class: 'steps', 'aria-labelledby': id }, ...stepItems(steps)),
      h('button', { type: 'button', class: 'secondary', onclick: () => { this.steps.hidden = true; this.buttons.get('dryrun').focus(); } }, 'Hide steps'));
    this.steps.hidden = false;
  }

  async failOver() {
    const f = this.last ?? {};
    const steps = await this.planSteps();
    const pending = f.state === 'fail-over-pending';
    const v = await confirmDialog({
      title: `Fail over ${this.name}`,
      message: pending
        ? `Answer the pending fail-over: the source ${f.sourceName ?? ''} is gone (${f.reason ?? 'no reply'}). This agent takes over its identity and stops accepting replication from it.`
        : `Planned fail-over: the source ${f.sourceName ?? ''} is still watched as ${f.state}. This agent takes over its identity; do this only when the source is down or stopped.`,
      fields: [
        h('p', { class: 'steps-h' }, 'The steps, in order:'),
        h('ol', { class: 'steps' }, ...stepItems(steps)),
        checkbox('force', f.witness
          ? 'Force: take over without winning the witness key, and take the addresses even when they still answer (skip duplicate address detection)'
          : 'Force: take the addresses even when they still answer (skip duplicate address detection)'),
      ],
      confirmLabel: 'Fail over',
      danger: true,
    });
    if (!v) return null;
    setText(this.message, `Failing over ${this.name}…`);
    const r = await this.ctx.client.post(this.base(), { dismiss: false, dryRun: false, force: v.force === 'true' });
    if (r.completed === false) throw new Error(r.abortReason ?? 'the fail-over was aborted and undone');
    return `Fail-over of ${this.name}: ${r.state}${r.warnings ? ` (${r.warnings} warnings, see the events)` : ''}`;
  }

  async dismiss() {
    const v = await confirmDialog({
      title: `Dismiss the fail-over of ${this.name}`,
      message: 'The target keeps protecting and does not take over. The monitor asks again only after the source has answered and then stopped answering again.',
      confirmLabel: 'Dismiss',
    });
    if (!v) return null;
    const r = await this.ctx.client.post(this.base(), { dismiss: true, dryRun: false, force: false });
    return `Fail-over of ${this.name} dismissed: ${r.state}`;
  }

  /** Restore and fail back: the request's options come from the agent's OpenAPI schema, so the console follows the API. */
  async extra(a) {
    const route = `POST /api/v1/failover/{name}/${a.id}`;
    const schema = this.ctx.schema(route);
    const props = schema?.properties ?? {};
    const fields = [];
    if (props.dryRun) {
      const preview = await this.ctx.client.post(`${this.base()}/${a.id}`, { dryRun: true });
      if (Array.isArray(preview.steps) && preview.steps.length) {
        fields.push(h('p', { class: 'steps-h' }, 'The steps, in order:'),
          h('ol', { class: 'steps' }, ...stepItems(preview.steps)));
      }
      // What the agent already knows would make it refuse (restore not in sync, source not connected…).
      if (preview.refused) fields.push(h('p', { class: 'refused', role: 'note' }, `${a.title} would be refused now: ${preview.refused}`));
    }
    fields.push(...schemaFields(schema, ['dryRun']));
    const v = await confirmDialog({ title: `${a.title} ${this.name}`, message: a.message, fields, confirmLabel: a.title, danger: !!a.danger });
    if (!v) return null;
    setText(this.message, `${a.title} of ${this.name}…`);
    const r = await this.ctx.client.post(`${this.base()}/${a.id}`, formBody(schema, v, ['dryRun']));
    if (r && r.completed === false) throw new Error(r.abortReason ?? `${a.title} was aborted`);
    return `${a.title} of ${this.name}: ${r?.state ?? 'requested'}`;
  }
}

/**
 * A job's witness (failover.witness; null without one): where it is, what the last answer was, the lease. On the
 * target's fail-over panel it says whether a take-over could win the key; on the source's card, whether the source
 * holds its lease or has fenced itself.
 */
export class WitnessLine {
  constructor() {
    this.state = h('span', { class: 'witness-state' });
    this.detail = h('span', { class: 'witness-detail' });
    this.root = h('p', { class: 'witness', hidden: true, 'aria-live': 'polite' }, 'Witness: ', this.state, this.detail);
  }

  update(w) {
    this.root.hidden = !w;
    if (!w) return;
    const state = w.state ?? 'unknown';
    setText(this.state, state);
    // "fenced; renewal failing" and "held (fenced: reclaiming)" take the tone of their first words.
    const tone = WITNESS_TONE[state] ?? WITNESS_TONE[state.split(/[;(]/)[0].trim()] ?? 'plain';
    this.state.className = `witness-state tone-${tone}`;
    this.root.dataset.state = state;
    this.root.dataset.tone = tone;
    const where = (w.endpoints ?? []).join(', ');
    const lease = `lease ${w.leaseSeconds ?? '?'} s, renewed every ${fmtInterval(w.renewSeconds)}`;
    setText(this.detail, `${w.detail ? ` — ${w.detail}` : ''} · ${w.key ?? ''} at ${where} · ${lease}${w.checkedAt ? ` · ${fmtTime(w.checkedAt)}` : ''}`);
  }
}

/**
 * The restore of a failed-over job (failover[].restore while restoring or failing back): its phase,
 * the current round's files and bytes as a progress bar, and each conflict — a file changed on both
 * sides, whose source version the source keeps under a conflict name (or discarded).
 */
class RestoreView {
  constructor(jobName) {
    const id = `restore-${++panelSeq}`;
    this.phase = h('span', { class: 'restore-phase' });
    this.detail = h('span', { class: 'restore-detail' });
    this.bar = h('progress', { max: '100', value: '0', 'aria-labelledby': `${id}-p` });
    this.barText = h('span', { id: `${id}-p` });
    this.error = h('p', { class: 'restore-error', role: 'alert', hidden: true });
    this.conflictRows = h('tbody');
    this.conflictCount = h('span');
    this.conflicts = h('div', { class: 'conflicts', hidden: true },
      h('p', { class: 'conflicts-h', id: `${id}-c`, 'aria-live': 'polite' }, this.conflictCount),
      h('table', { 'aria-labelledby': `${id}-c` },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Path'), h('th', { scope: 'col' }, 'Source\'s version kept as'), h('th', { scope: 'col' }, 'Found'))),
        this.conflictRows));
    this.root = h('section', { class: 'restore', hidden: true, 'aria-labelledby': `${id}-h` },
      h('h5', { id: `${id}-h` }, `Restore of ${jobName} to the source`),
      h('p', { class: 'restore-head', 'aria-live': 'polite' }, this.phase, this.detail),
      h('div', { class: 'progress' }, this.bar, this.barText),
      this.error, this.conflicts);
    this.conflictKey = '';
  }

  update(r) {
    this.root.hidden = !r;
    if (!r) return;
    const phase = r.phase ?? 'unknown';
    setText(this.phase, phase);
    this.phase.className = `restore-phase tone-${RESTORE_TONE[phase] ?? 'unknown'}`;
    this.root.dataset.phase = phase;
    const roots = r.roots > 1 ? `${r.rootsInSync ?? 0} of ${r.roots} source paths in sync · ` : '';
    const source = r.sourceConnected ? 'source connected' : 'source agent not connected (it connects by itself while passive)';
    setText(this.detail, ` — ${roots}${source}${r.lastSyncAt ? ` · last sync ${fmtTime(r.lastSyncAt)}` : ''}`);
    let pct = r.bytesTotal > 0 ? (r.bytesDone / r.bytesTotal) * 100 : r.filesTotal > 0 ? (r.filesDone / r.filesTotal) * 100 : 0;
    if (phase === 'in sync') pct = 100;
    pct = Math.min(100, Math.floor(pct));
    this.bar.value = pct;
    this.root.dataset.percent = String(pct);
    setText(this.barText, `This round: ${pct}% · ${r.filesDone ?? 0}/${r.filesTotal ?? 0} files · ${fmtBytes(r.bytesDone)} of ${fmtBytes(r.bytesTotal)}`);
    this.error.hidden = !r.error;
    setText(this.error, r.error ? `Restore ${phase === 'stopped' ? 'stopped' : 'problem'}: ${r.error}` : '');
    this.updateConflicts(r.conflicts ?? []);
  }

  updateConflicts(list) {
    this.conflicts.hidden = list.length === 0;
    const key = list.map((c) => `${c.root}|${c.path}|${c.parkedAs}|${c.at}`).join('\n');
    if (key === this.conflictKey) return;
    this.conflictKey = key;
    setText(this.conflictCount, `${list.length} conflict${list.length === 1 ? '' : 's'}: changed on the source before the fail-over and on this target since; this target's version wins`);
    this.conflictRows.replaceChildren(...list.slice(0, 500).map((c) => h('tr', {},
      h('td', {}, c.path),
      h('td', {}, c.parkedAs ?? 'discarded (restore.conflicts: discard-source)'),
      h('td', {}, fmtTime(c.at)))));
  }
}

/** The API's numbered plan lines ("1. name: what", then indented detail lines) as list items, one per step. */
function stepItems(lines) {
  const items = [];
  for (const raw of lines.map(String)) {
    const m = /^\d+\.\s*(.*)$/.exec(raw);
    if (m || items.length === 0) items.push(h('li', {}, m ? m[1] : raw));
    else items[items.length - 1].append(h('br'), raw.trim());
  }
  return items;
}

function fmtInterval(s) {
  if (s === null || s === undefined) return '?';
  return s < 1 ? `${Math.round(s * 1000)} ms` : fmtSeconds(s);
}

function ago(iso) {
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return '';
  const s = (Date.now() - t) / 1000;
  return s < 1 ? ' (just now)' : ` (${fmtSeconds(s)} ago)`;
}

function timeLeftText(f, state) {
  if (state === 'fail-over-pending') return 'Waiting for an operator: nothing changes until you fail over or dismiss.';
  if (!MONITORED.has(state)) return 'The monitor rests while this agent holds (or moves) the source\'s identity.';
  if (f.dismissed) return 'Dismissed by an operator: no fail-over until the source has answered again.';
  const left = f.timeLeftSeconds;
  if (left === null || left === undefined) return '';
  const what = f.trigger === 'automatic' ? 'before automatic fail-over' : 'before an operator is asked to fail over';
  // With a witness the monitor's verdict is not enough: the key must be free too (the source's lease expired).
  const gate = f.trigger === 'automatic' && f.witness ? ', then only once the witness key is free (the source\'s lease expired)' : '';
  return `Time left ${what} if nothing answers: ${fmtInterval(left)}${gate}`;
}

// The live event log of every connected agent, newest first, filterable by job and severity.
import { h, fmtTime } from './dom.js';

const MAX = 500;

export class EventLogView {
  constructor(list, jobSelect, sevSelect) {
    this.list = list;
    this.jobSelect = jobSelect;
    this.sevSelect = sevSelect;
    this.seen = new Set();
    this.jobs = new Set();
    jobSelect.addEventListener('change', () => this.applyFilter());
    sevSelect.addEventListener('change', () => this.applyFilter());
  }

  /** Loads an agent's recent events (the stream brings the rest). */
  async attach(client, agentName) {
    try {
      const recent = await client.get('/api/v1/events?limit=50');
      for (const ev of recent) this.add(client.url, agentName, ev, true);
    } catch { /* the stream still works; the status line shows connection errors */ }
  }

  add(agentUrl, agentName, ev, old = false) {
    const key = `${agentUrl}#${ev.id}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    if (ev.job && !this.jobs.has(ev.job)) {
      this.jobs.add(ev.job);
      this.jobSelect.append(h('option', { value: ev.job }, ev.job));
    }
    const li = h('li', { class: `ev sev-${ev.severity}`, 'data-job': ev.job ?? '', 'data-severity': ev.severity, 'data-code': ev.code ?? 0, 'data-agent': agentUrl, 'data-id': ev.id, 'data-time': ev.time },
      h('time', { datetime: ev.time }, fmtTime(ev.time)), ' ',
      h('span', { class: 'sev' }, ev.severity), ' ',
      h('span', { class: 'code', title: ev.codeName ?? '' }, String(ev.code ?? 0)), ' ',
      h('span', { class: 'who' }, `${agentName}${ev.job ? ` · ${ev.job}` : ''} · ${ev.category}`), ' ',
      h('span', { class: 'msg' }, ev.message));
    li.hidden = !this.matches(li);
    // Keep newest first by time; old (initially loaded) events go below the live ones.
    const before = [...this.list.children].find((c) => c.dataset.time < ev.time);
    if (before) this.list.insertBefore(li, before); else this.list.append(li);
    if (old) li.classList.add('old');
    while (this.list.children.length > MAX) {
      const last = this.list.lastElementChild;
      this.seen.delete(`${last.dataset.agent}#${last.dataset.id}`);
      last.remove();
    }
  }

  forgetAgent(agentUrl) {
    for (const li of [...this.list.children]) if (li.dataset.agent === agentUrl) li.remove();
    for (const k of [...this.seen]) if (k.startsWith(`${agentUrl}#`)) this.seen.delete(k);
  }

  matches(li) {
    const job = this.jobSelect.value;
    const sev = this.sevSelect.value;
    return (!job || li.dataset.job === job) && (!sev || li.dataset.severity === sev);
  }

  applyFilter() {
    for (const li of this.list.children) li.hidden = !this.matches(li);
  }
}

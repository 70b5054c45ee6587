// One agent's section: its name, connection state, and a card per job it is source of or hosts.
import { h, setText, fmtTime } from './dom.js';
import { JobCard } from './jobcard.js';

let seq = 0;

export class AgentView {
  constructor(container, url, opts) {
    this.url = url;
    this.opts = opts;
    this.cards = new Map();
    const id = `agent-${++seq}`;
    this.title = h('h3', { id, tabindex: '-1' }, url);
    this.conn = h('p', { class: 'conn', role: 'status' }, 'connecting…');
    this.relogin = h('button', { type: 'button', hidden: true, onclick: () => opts.onRelogin() }, 'Enter token');
    this.stale = h('p', { class: 'stale', hidden: true });
    this.empty = h('p', { class: 'muted', hidden: true }, 'No jobs on this agent yet. Use "Protect a directory" to create one.');
    this.list = h('div', { class: 'cards' });
    this.root = h('section', { class: 'agent', 'aria-labelledby': id, 'data-url': url },
      h('div', { class: 'agent-head' }, this.title,
        this.conn, this.relogin,
        h('button', { type: 'button', class: 'secondary', 'aria-label': `Remove agent ${url} from this console`, onclick: () => opts.onRemove() }, 'Remove')),
      this.stale, this.empty, this.list);
    container.append(this.root);
  }

  setAgent(info) {
    this.info = info;
    setText(this.title, `${info.name} — ${this.url}`);
    this.root.dataset.agentName = info.name;
  }

  setError(message, isAuth) {
    this.conn.className = 'conn bad';
    setText(this.conn, message);
    this.relogin.hidden = !isAuth;
    // Cards keep the last state they were told: say so, or an unreachable agent looks healthy.
    this.stale.hidden = this.cards.size === 0;
    this.root.dataset.stale = 'true';
    setText(this.stale, `Not up to date: the jobs below show this agent's last known state${this.updatedAt ? `, from ${fmtTime(this.updatedAt)}` : ''}.`);
  }

  update(status) {
    this.conn.className = 'conn ok';
    setText(this.conn, `connected · agent ID ${(this.info?.id ?? '').slice(0, 12)}… · version ${this.info?.version ?? '?'}`);
    this.relogin.hidden = true;
    this.stale.hidden = true;
    delete this.root.dataset.stale;
    this.updatedAt = new Date().toISOString();
    const seen = new Set();
    const show = (key, job, role, failover) => { seen.add(key); this.card(key, job, role).update(job, failover); };
    for (const job of status.jobs ?? []) show(`source:${job.name}`, job, 'source');
    // A hosted copy and its fail-over are one card: the same job from the same source agent.
    const failovers = new Map((status.failover ?? []).map((f) => [`${f.sourceId}/${f.name}`, f]));
    for (const hosted of status.hosted ?? []) {
      const key = `${hosted.sourceId}/${hosted.name}`;
      show(`target:${key}`, hosted, 'target', failovers.get(key));
      failovers.delete(key);
    }
    for (const [key, f] of failovers)
      show(`target:${key}`, { name: f.name, sourceId: f.sourceId, sourceName: f.sourceName }, 'target', f);
    for (const [k, card] of this.cards) {
      if (!seen.has(k)) { card.root.remove(); this.cards.delete(k); }
    }
    this.empty.hidden = this.cards.size > 0;
  }

  card(key, job, role) {
    let c = this.cards.get(key);
    if (!c) {
      c = new JobCard(job.name, role, this.opts);
      this.cards.set(key, c);
      this.list.append(c.root);
    }
    return c;
  }

  remove() {
    this.root.remove();
  }
}

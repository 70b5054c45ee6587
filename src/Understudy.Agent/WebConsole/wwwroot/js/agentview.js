// One agent's section: its name, connection state, and a card per job it is source of or hosts.
import { h, setText } from './dom.js';
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
    this.empty = h('p', { class: 'muted', hidden: true }, 'No jobs on this agent yet. Use "Protect a directory" to create one.');
    this.list = h('div', { class: 'cards' });
    this.root = h('section', { class: 'agent', 'aria-labelledby': id, 'data-url': url },
      h('div', { class: 'agent-head' }, this.title,
        this.conn, this.relogin,
        h('button', { type: 'button', class: 'secondary', 'aria-label': `Remove agent ${url} from this console`, onclick: () => opts.onRemove() }, 'Remove')),
      this.empty, this.list);
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
  }

  update(status) {
    this.conn.className = 'conn ok';
    setText(this.conn, `connected · agent ID ${(this.info?.id ?? '').slice(0, 12)}… · version ${this.info?.version ?? '?'}`);
    this.relogin.hidden = true;
    const seen = new Set();
    const show = (key, job, role) => { seen.add(key); this.card(key, job, role).update(job); };
    for (const job of status.jobs ?? []) show(`source:${job.name}`, job, 'source');
    for (const hosted of status.hosted ?? []) show(`target:${hosted.name}`, hosted, 'target');
    for (const [k, card] of this.cards) {
      if (!seen.has(k)) { card.root.remove(); this.cards.delete(k); }
    }
    this.empty.hidden = this.cards.size > 0;
  }

  card(key, job, role) {
    let c = this.cards.get(key);
    if (!c) {
      c = new JobCard(job.name, role, this.opts.client, this.opts.supports);
      this.cards.set(key, c);
      this.list.append(c.root);
    }
    return c;
  }

  remove() {
    this.root.remove();
  }
}

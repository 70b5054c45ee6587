// The guided "protect a directory" form: builds a job step by step, checks it as the user types
// (locally at once, then with the source agent's POST /jobs/validate), shows the job file, applies it.
import { h, setText, announce } from './dom.js';
import { jobYaml, linesOf } from './yaml.js';

// Which form field a job file key belongs to (longest prefix wins).
const FIELD_OF_KEY = [
  ['failover.monitor', 'monitor'], ['failover', 'failover'], ['source.exclude', 'exclude'], ['source', 'paths'],
  ['target.address', 'targetAddress'], ['target.id', 'targetId'], ['target.path', 'targetPath'], ['target', 'targetAddress'],
  ['mirror.orphans', 'orphans'], ['mirror', 'mode'], ['name', 'name'],
];

export class Wizard {
  constructor(dialog, agents) {
    this.dialog = dialog;
    this.agents = agents;
    this.form = dialog.querySelector('form');
    this.preview = dialog.querySelector('#wiz-yaml');
    this.summary = dialog.querySelector('#wiz-errors');
    this.result = dialog.querySelector('#wiz-result');
    this.timer = 0;
    this.abort = null;
    const f = this.form.elements;
    this.form.addEventListener('input', () => this.changed());
    this.form.addEventListener('change', (e) => {
      if (e.target.name === 'targetAgent') { e.target.dataset.touched = '1'; this.fillTarget(); }
      if (e.target.name === 'failover') this.toggleFailover();
      this.changed();
    });
    this.form.addEventListener('submit', (e) => { e.preventDefault(); this.apply(); });
    dialog.querySelector('#wiz-cancel').addEventListener('click', () => dialog.close());
    this.toggleFailover();
    f.name.setAttribute('aria-describedby', 'err-name hint-name');
  }

  open() {
    this.agentsChanged();
    setText(this.result, '');
    this.dialog.showModal();
    this.form.elements.name.focus();
    this.changed();
  }

  /** Refills the two agent lists from the connected agents, keeping the current choices. */
  agentsChanged() {
    const f = this.form.elements;
    const list = this.agents();
    const fill = (select, extra) => {
      const keep = select.value;
      select.replaceChildren(...list.map((a) => h('option', { value: a.client.url }, `${a.info.name} (${a.client.url})`)), ...extra);
      if ([...select.options].some((o) => o.value === keep)) select.value = keep;
    };
    fill(f.sourceAgent, []);
    fill(f.targetAgent, [h('option', { value: '' }, 'another agent: enter its address and ID')]);
    if (!f.targetAgent.dataset.touched && list.length > 1 && f.targetAgent.value === f.sourceAgent.value)
      f.targetAgent.value = list.find((a) => a.client.url !== f.sourceAgent.value).client.url;
    this.fillTarget();
  }

  fillTarget() {
    const f = this.form.elements;
    const a = this.agents().find((x) => x.client.url === f.targetAgent.value);
    if (!a) return;
    let peer = a.info.peer ?? '';
    // An agent listening on every address reports 0.0.0.0: reach it by the host of its API URL.
    const m = /^(.*):(\d+)$/.exec(peer);
    if (m && /^(0\.0\.0\.0|\[::\]|::)$/.test(m[1])) peer = `${new URL(a.client.url).hostname}:${m[2]}`;
    f.targetAddress.value = peer;
    f.targetId.value = a.info.id;
  }

  toggleFailover() {
    const on = this.form.elements.failover.checked;
    this.dialog.querySelector('#wiz-failover').hidden = !on;
  }

  model() {
    const f = this.form.elements;
    return {
      name: f.name.value.trim(),
      paths: linesOf(f.paths.value),
      exclude: linesOf(f.exclude.value),
      targetAddress: f.targetAddress.value.trim(),
      targetId: f.targetId.value.trim(),
      targetPath: f.targetPath.value.trim(),
      mode: f.mode.value,
      orphans: f.orphans.value,
      failover: f.failover.checked,
      monitor: linesOf(f.monitor.value),
      trigger: f.trigger.value,
      failoverMode: f.failoverMode.value,
    };
  }

  /** Checks that need no agent, so the user sees mistakes at the first keystroke. */
  localErrors(m) {
    const e = [];
    if (!/^[a-z0-9][a-z0-9._-]{0,62}$/.test(m.name)) e.push(['name', 'Name: lowercase letters, digits, ".", "_" or "-", starting with a letter or digit (at most 63).']);
    if (m.paths.length === 0) e.push(['paths', 'Source paths: at least one directory on the source agent.']);
    else if (m.paths.some((p) => !p.startsWith('/'))) e.push(['paths', 'Source paths must be absolute (start with /).']);
    if (!m.targetAddress) e.push(['targetAddress', 'Target address: the target agent\'s peer address (host or host:port).']);
    if (!/^[0-9a-fA-F:]{64,95}$/.test(m.targetId)) e.push(['targetId', 'Target ID: 64 hex digits (run "understudy id" on the target).']);
    if (!m.targetPath.startsWith('/')) e.push(['targetPath', 'Target path: an absolute directory on the target.']);
    if (m.failover && m.monitor.length === 0) e.push(['monitor', 'Fail-over needs at least one source address to watch.']);
    return e;
  }

  changed() {
    const m = this.model();
    setText(this.preview, jobYaml(m));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.validate(m), 250);
  }

  async validate(m) {
    const local = this.localErrors(m);
    if (local.length > 0) { this.show(local.map(([field, msg]) => ({ field, msg, severity: 'error' }))); return false; }
    const agent = this.agents().find((a) => a.client.url === this.form.elements.sourceAgent.value);
    if (!agent) { this.show([{ field: 'sourceAgent', msg: 'Connect the source agent first.', severity: 'error' }]); return false; }
    this.abort?.abort();
    this.abort = new AbortController();
    try {
      const r = await agent.client.post('/api/v1/jobs/validate', { yaml: jobYaml(m), fileName: 'job.yaml' }, this.abort.signal);
      this.show(r.errors.map((e) => ({ field: fieldOf(e.key), msg: e.message, severity: e.severity })));
      return r.valid;
    } catch (e) {
      if (e.name === 'AbortError') return false;
      this.show([{ field: 'sourceAgent', msg: e.message, severity: 'error' }]);
      return false;
    }
  }

  show(problems) {
    for (const el of this.form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
    for (const el of this.form.querySelectorAll('.field-error')) el.textContent = '';
    for (const p of problems) {
      const input = this.form.elements[p.field];
      const target = input instanceof RadioNodeList ? input[0] : input;
      if (target && p.severity === 'error') target.setAttribute('aria-invalid', 'true');
      const err = this.form.querySelector(`#err-${p.field}`);
      if (err) err.textContent = p.msg;
    }
    this.summary.replaceChildren(...problems.map((p) => h('li', { class: p.severity }, `${p.severity === 'warning' ? 'Note' : 'Error'}: ${p.msg}`)));
    this.problems = problems;
  }

  async apply() {
    clearTimeout(this.timer);
    const m = this.model();
    const ok = await this.validate(m);
    const first = this.problems?.find((p) => p.severity === 'error');
    if (!ok) {
      setText(this.result, 'The job has errors: fix the marked fields.');
      const input = first && this.form.elements[first.field];
      (input instanceof RadioNodeList ? input[0] : input)?.focus();
      return;
    }
    const agent = this.agents().find((a) => a.client.url === this.form.elements.sourceAgent.value);
    try {
      const r = await agent.client.post('/api/v1/jobs', { yaml: jobYaml(m), fileName: `${m.name}.yaml` });
      this.dialog.close();
      announce(`Job ${r.name} applied on ${agent.info.name}; the mirror has started.`);
    } catch (e) {
      setText(this.result, `Apply failed: ${e.message}`);
    }
  }
}

function fieldOf(key) {
  const hit = FIELD_OF_KEY.find(([prefix]) => key === prefix || key?.startsWith(`${prefix}.`) || key?.startsWith(`${prefix}[`));
  return hit ? hit[1] : 'name';
}

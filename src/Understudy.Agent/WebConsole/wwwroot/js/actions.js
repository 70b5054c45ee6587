// Job actions: which exist on an agent, the confirmation each needs, and the call it makes.
import { h } from './dom.js';

// Every action is POST /api/v1/jobs/{name}/<path>. Mirror and verify exist on every agent; the
// others light up when the agent has the route (its OpenAPI document) and, when the job's status
// lists `actions`, only while the status says they apply. Fail-over actions live on the target
// agent under /api/v1/failover (failover.js).
export const ACTIONS = [
  { id: 'mirror', label: 'Mirror…', sourceOnly: true },
  { id: 'verify', label: 'Verify…', sourceOnly: true },
  { id: 'start', label: 'Start…', pair: 'stop',
    confirm: 'Start this job: a difference mirror finds what changed while it was stopped (the first mirror if it never completed), then replication resumes.' },
  { id: 'stop', label: 'Stop…', danger: true, pair: 'start',
    confirm: 'Stop this job: its mirror, replication and change capture end and the link to the target closes. The queue and the target\'s copy are kept, and it stays stopped (also across agent restarts) until you start it.' },
  { id: 'pause', label: 'Pause…', pair: 'resume', confirm: 'Pause replication? Changes keep being captured into the queue on the source until you resume.' },
  { id: 'resume', label: 'Resume…', pair: 'pause', confirm: 'Resume replication: the queued changes are sent to the target, oldest first.' },
];

export function actionPath(a) {
  return a.path ?? a.id;
}

let dialogSeq = 0;

/** A modal confirmation; resolves to the form's values, or null when cancelled. */
export function confirmDialog({ title, message, fields = [], confirmLabel = 'Confirm', danger = false }) {
  const id = `confirm-${++dialogSeq}`;
  const form = h('form', { method: 'dialog' },
    h('h2', { id }, title),
    message ? h('p', {}, message) : null,
    ...fields,
    h('div', { class: 'buttons' },
      h('button', { value: 'ok', class: danger ? 'danger' : 'primary' }, confirmLabel),
      h('button', { value: 'cancel', class: 'secondary', formnovalidate: true }, 'Cancel')));
  const dlg = h('dialog', { 'aria-labelledby': id, class: 'confirm' }, form);
  document.body.append(dlg);
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => {
      const values = dlg.returnValue === 'ok' ? Object.fromEntries(new FormData(form)) : null;
      dlg.remove();
      resolve(values);
    });
    dlg.showModal();
  });
}

export function radioGroup(name, legend, options, checked) {
  return h('fieldset', {}, h('legend', {}, legend),
    ...options.map(([value, label]) => h('label', { class: 'choice' },
      h('input', { type: 'radio', name, value, checked: value === checked }), ` ${label}`)));
}

export function checkbox(name, label, checked = false) {
  return h('label', { class: 'choice' }, h('input', { type: 'checkbox', name, value: 'true', checked }), ` ${label}`);
}

/**
 * Form fields for a request body described by the agent's OpenAPI schema (booleans as checkboxes,
 * enums as radio buttons, other strings and numbers as inputs), so an action's options follow the API.
 */
export function schemaFields(schema, skip = []) {
  const out = [];
  for (const [name, p] of Object.entries(schema?.properties ?? {})) {
    if (skip.includes(name)) continue;
    // The agent's description of the option when it has one (it says what the option does), else its name.
    const label = p.description ?? name.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
    if (p.type === 'boolean') out.push(checkbox(name, label));
    else if (Array.isArray(p.enum)) out.push(radioGroup(name, label, p.enum.map((e) => [String(e), String(e)]), String(p.enum[0])));
    else if (p.type === 'string' || p.type === 'integer' || p.type === 'number') {
      const id = `field-${++dialogSeq}`;
      const required = (schema.required ?? []).includes(name);
      out.push(h('label', { for: id }, label), h('input', { id, name, type: p.type === 'string' ? 'text' : 'number', required }));
    }
  }
  return out;
}

/** The JSON body for a schema from a confirmation form's values (unchecked booleans are false). */
export function formBody(schema, values, skip = []) {
  const body = {};
  for (const [name, p] of Object.entries(schema?.properties ?? {})) {
    if (skip.includes(name)) body[name] = false;
    else if (p.type === 'boolean') body[name] = values[name] === 'true';
    else if (values[name] !== undefined && values[name] !== '') body[name] = p.type === 'string' || p.enum ? values[name] : Number(values[name]);
  }
  return body;
}

/** Asks what the action needs, then calls the agent. Returns the API's answer, or null when cancelled. */
export async function runAction(action, jobName, status, client) {
  const base = `/api/v1/jobs/${encodeURIComponent(jobName)}/`;
  if (action.id === 'mirror') {
    const v = await confirmDialog({
      title: `Mirror ${jobName}`,
      message: 'Bring the target up to date now.',
      fields: [radioGroup('mode', 'Mirror mode', [['different', 'different: size or time changed'], ['checksum', 'checksum: compare blocks, send only changed data'], ['full', 'full: send every file']], status.mirror?.mode ?? 'different')],
      confirmLabel: 'Start mirror',
    });
    return v && client.post(base + 'mirror', { mode: v.mode });
  }
  if (action.id === 'verify') {
    const v = await confirmDialog({
      title: `Verify ${jobName}`,
      message: 'Compare source and target and list the differences.',
      fields: [checkbox('checksum', 'Compare content (slower), not only size, time and metadata'), checkbox('repair', 'Repair: re-send what differs, then verify again')],
      confirmLabel: 'Verify',
    });
    return v && client.post(base + 'verify', { checksum: v.checksum === 'true', repair: v.repair === 'true' });
  }
  if (action.confirm) {
    const v = await confirmDialog({ title: `${action.label.replace('…', '')}: ${jobName}`, message: action.confirm, confirmLabel: action.label.replace('…', ''), danger: !!action.danger });
    if (!v) return null;
  }
  return client.post(base + actionPath(action), {});
}

// Boot and wiring: agents from localStorage (plus a ?token= link), one poll loop and one event
// stream per agent, and the header's buttons. Everything updates in place; nothing reloads the page.
import { AgentClient, ApiError } from './api.js';
import { loadAgents, putAgent, removeAgent, normalizeUrl } from './store.js';
import { AgentView } from './agentview.js';
import { EventLogView } from './events.js';
import { Wizard } from './wizard.js';
import { announce } from './dom.js';

const POLL_MS = 1000;
const agents = new Map(); // url -> { client, view, info, routes, timer, source, stopped }
const events = new EventLogView(document.getElementById('event-log'),
  document.getElementById('ev-job'), document.getElementById('ev-sev'));
const wizard = new Wizard(document.getElementById('wizard'), () => [...agents.values()].filter(a => a.info));

/** A login link carries the token once: keep it for this origin, then take it out of the address bar. */
function takeTokenFromUrl() {
  const params = new URLSearchParams(location.search);
  const token = params.get('token');
  if (!token) return;
  putAgent(location.origin, token);
  params.delete('token');
  const rest = params.toString();
  history.replaceState(null, '', location.pathname + (rest ? `?${rest}` : '') + location.hash);
}

function connect(url, token) {
  disconnect(url);
  const client = new AgentClient(url, token);
  const entry = { client, info: null, routes: new Set(), openapi: null, timer: 0, source: null, stopped: false };
  entry.view = new AgentView(document.getElementById('agents'), url, {
    onRemove: () => { disconnect(url); removeAgent(url); announce(`Removed agent ${url}`); showLoginIfEmpty(); },
    onRelogin: () => showLogin(url),
    supports: (route) => entry.routes.has(route),
    schema: (route) => requestSchema(entry.openapi, route),
    client,
  });
  agents.set(url, entry);
  poll(entry);
  return entry;
}

function disconnect(url) {
  const e = agents.get(url);
  if (!e) return;
  e.stopped = true;
  clearTimeout(e.timer);
  e.source?.close();
  e.view.remove();
  events.forgetAgent(url);
  agents.delete(url);
}

async function poll(entry) {
  if (entry.stopped) return;
  try {
    if (!entry.info) {
      entry.info = await entry.client.get('/api/v1/agent');
      entry.view.setAgent(entry.info);
      await loadRoutes(entry);
      await events.attach(entry.client, entry.info.name);
      openStream(entry);
      wizard.agentsChanged();
    }
    const status = await entry.client.get('/api/v1/status');
    // Back after an outage: the agent may have been upgraded, so read its routes again.
    if (entry.failed) await loadRoutes(entry);
    entry.failed = false;
    entry.view.update(status);
  } catch (e) {
    entry.failed = true;
    entry.view.setError(e instanceof ApiError ? e.message : String(e), e instanceof ApiError && e.status === 401);
    if (e instanceof ApiError && e.status === 401) return; // a wrong token stays wrong: wait for the user
  }
  entry.timer = setTimeout(() => poll(entry), POLL_MS);
}

/** Which routes this agent has (from its OpenAPI document), so actions appear only where they exist. */
async function loadRoutes(entry) {
  try {
    const doc = await entry.client.get('/api/v1/openapi.json');
    entry.openapi = doc;
    entry.routes.clear();
    for (const [path, ops] of Object.entries(doc.paths ?? {}))
      for (const m of Object.keys(ops)) entry.routes.add(`${m.toUpperCase()} ${path}`);
  } catch {
    // An older agent without the document: mirror and verify are always there.
  }
}

/** The JSON schema of a route's request body ("POST /api/v1/…"), with its $ref resolved; null when none. */
function requestSchema(doc, route) {
  const [method, path] = route.split(' ');
  const op = doc?.paths?.[path]?.[method.toLowerCase()];
  let schema = op?.requestBody?.content?.['application/json']?.schema ?? null;
  const ref = schema?.$ref;
  if (typeof ref === 'string' && ref.startsWith('#/components/schemas/'))
    schema = doc.components?.schemas?.[ref.slice('#/components/schemas/'.length)] ?? null;
  return schema;
}

function openStream(entry) {
  entry.source?.close();
  const es = new EventSource(entry.client.eventStreamUrl());
  es.addEventListener('event', (m) => {
    try {
      events.add(entry.client.url, entry.info?.name ?? entry.client.url, JSON.parse(m.data));
    } catch { /* a malformed line is skipped, the stream goes on */ }
    // An event usually means a state change: refresh now rather than at the next tick.
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => poll(entry), 50);
  });
  entry.source = es;
}

// --- login form (also "add agent") ---
const loginSection = document.getElementById('login');
const loginForm = document.getElementById('login-form');
const loginError = document.getElementById('login-error');

function showLogin(url) {
  loginSection.hidden = false;
  loginForm.elements.url.value = url ?? (agents.size === 0 ? location.origin : '');
  loginForm.elements.token.value = '';
  loginError.textContent = '';
  document.getElementById('login-cancel').hidden = agents.size === 0;
  (url ? loginForm.elements.token : loginForm.elements.url).focus();
}

function showLoginIfEmpty() {
  if (agents.size === 0) showLogin();
}

loginForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  loginError.textContent = '';
  let url;
  try {
    url = normalizeUrl(loginForm.elements.url.value.trim());
  } catch {
    loginError.textContent = 'Enter the agent\'s API URL, e.g. https://server1:7421';
    return;
  }
  const token = loginForm.elements.token.value.trim();
  const submit = loginForm.querySelector('button[type=submit]');
  submit.disabled = true;
  try {
    const info = await new AgentClient(url, token).get('/api/v1/agent');
    putAgent(url, token);
    connect(url, token);
    loginSection.hidden = true;
    announce(`Connected to agent ${info.name}`);
    document.getElementById('jobs-h').focus();
  } catch (e) {
    loginError.textContent = e.message;
    loginForm.elements.token.focus();
  } finally {
    submit.disabled = false;
  }
});
document.getElementById('login-cancel').addEventListener('click', () => { loginSection.hidden = true; });
document.getElementById('add-agent-btn').addEventListener('click', () => showLogin(''));
document.getElementById('new-job-btn').addEventListener('click', () => wizard.open());

takeTokenFromUrl();
for (const a of loadAgents()) connect(a.url, a.token);
showLoginIfEmpty();

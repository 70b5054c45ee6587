// The agents this browser manages, with their tokens, kept in localStorage (never in cookies:
// the token is only ever sent explicitly, so other sites cannot use it through this browser).

const KEY = 'understudy.agents';

export function loadAgents() {
  try {
    const list = JSON.parse(localStorage.getItem(KEY) ?? '[]');
    return Array.isArray(list) ? list.filter(a => a && typeof a.url === 'string' && typeof a.token === 'string') : [];
  } catch {
    return [];
  }
}

function save(list) {
  localStorage.setItem(KEY, JSON.stringify(list));
}

export function normalizeUrl(url) {
  const u = new URL(url, location.href);
  return u.origin;
}

export function putAgent(url, token) {
  const norm = normalizeUrl(url);
  const list = loadAgents().filter(a => a.url !== norm);
  list.push({ url: norm, token });
  save(list);
  return norm;
}

export function removeAgent(url) {
  save(loadAgents().filter(a => a.url !== url));
}

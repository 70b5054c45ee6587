// Small DOM and formatting helpers. No framework: elements are built once and updated in place,
// so focus, selection and screen-reader position survive every live update.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Sets text only when it changed, so aria-live regions announce real changes only. */
export function setText(el, text) {
  const t = text ?? '';
  if (el.textContent !== t) el.textContent = t;
}

export function fmtBytes(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = Number(n);
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function fmtSeconds(s) {
  if (s === null || s === undefined || Number.isNaN(s)) return '–';
  s = Math.max(0, Math.round(s));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function fmtTime(iso) {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** A stable, attribute-safe key for an agent URL and a job name. */
export function keyOf(...parts) {
  return parts.join('\u0001');
}

/** Announces a short message to screen readers through the page's polite live region. */
export function announce(message) {
  const el = document.getElementById('status');
  if (!el) return;
  el.textContent = '';
  // A separate task, so the same message twice is announced twice.
  setTimeout(() => { el.textContent = message; }, 30);
}

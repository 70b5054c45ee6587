// The fail-over monitor of a job on its target: each watched address of the source, up or
// missing (colour and text), missed probes, and the time left before fail-over. The field names
// are read loosely (address/up/state/missed/timeLeftSeconds) so the view works as the engine grows.
import { h, fmtSeconds } from './dom.js';

export function renderMonitor(box, mon) {
  if (!mon || typeof mon !== 'object') return false;
  const addrs = Array.isArray(mon.addresses) ? mon.addresses : Array.isArray(mon.watched) ? mon.watched : [];
  const left = mon.timeLeftSeconds ?? mon.secondsLeft ?? mon.timeLeft;
  const items = addrs.map((a) => {
    const name = typeof a === 'string' ? a : a.address ?? a.host ?? JSON.stringify(a);
    const state = typeof a === 'string' ? 'unknown' : a.state ?? (a.up === true ? 'up' : a.up === false ? 'missing' : 'unknown');
    const cls = /up|ok|alive/i.test(state) ? 'up' : /lost|down/i.test(state) ? 'lost' : /miss|suspect/i.test(state) ? 'missing' : 'unknown';
    const missed = typeof a === 'object' && a.missed !== undefined ? ` · ${a.missed}${a.misses ? `/${a.misses}` : ''} missed` : '';
    const tl = typeof a === 'object' && a.timeLeftSeconds !== undefined ? ` · ${fmtSeconds(a.timeLeftSeconds)} left` : '';
    return h('li', { class: `addr addr-${cls}` }, h('span', { class: 'dot', 'aria-hidden': 'true' }), `${name}: ${state}${missed}${tl}`);
  });
  box.replaceChildren(
    h('p', {}, `Fail-over monitor${mon.state ? `: ${mon.state}` : ''}${left !== undefined && left !== null ? ` · ${fmtSeconds(left)} left before fail-over` : ''}`),
    items.length ? h('ul', { class: 'addresses' }, ...items) : '');
  return true;
}

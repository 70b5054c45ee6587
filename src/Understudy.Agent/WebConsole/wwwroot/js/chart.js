// A small live line chart in SVG (no library): the last N samples of one number.
import { h, setText } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';
const W = 240;
const H = 48;

export class LineChart {
  constructor(label, format, capacity = 120) {
    this.label = label;
    this.format = format;
    this.capacity = capacity;
    this.samples = [];
    this.svg = document.createElementNS(NS, 'svg');
    this.svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    this.svg.setAttribute('width', W);
    this.svg.setAttribute('height', H);
    this.svg.setAttribute('role', 'img');
    this.line = document.createElementNS(NS, 'polyline');
    this.line.setAttribute('fill', 'none');
    this.line.setAttribute('stroke', 'currentColor');
    this.line.setAttribute('stroke-width', '2');
    this.svg.append(this.line);
    this.value = h('span', { class: 'chart-value' });
    this.root = h('figure', { class: 'chart' }, h('figcaption', {}, `${label}: `, this.value), this.svg);
  }

  push(v) {
    this.samples.push(Number(v) || 0);
    if (this.samples.length > this.capacity) this.samples.shift();
    const max = Math.max(1, ...this.samples);
    const step = W / Math.max(1, this.capacity - 1);
    const offset = this.capacity - this.samples.length;
    this.line.setAttribute('points', this.samples
      .map((s, i) => `${((offset + i) * step).toFixed(1)},${(H - 2 - (s / max) * (H - 4)).toFixed(1)}`).join(' '));
    const text = this.format(v);
    setText(this.value, text);
    this.svg.setAttribute('aria-label', `${this.label} over the last ${this.samples.length} seconds, now ${text}, peak ${this.format(max)}`);
  }
}

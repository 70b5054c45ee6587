// Writes the job file the guided form describes. Strings are YAML double-quoted scalars, whose
// escapes are JSON's, so JSON.stringify quotes them safely.

const q = (s) => JSON.stringify(String(s));
const list = (items) => `[${items.map(q).join(', ')}]`;

export function jobYaml(m) {
  const lines = [
    '# Understudy job file made by the web console. Reference: docs/job-file.md',
    `name: ${q(m.name)}`,
    'source:',
    `  paths: ${list(m.paths)}`,
  ];
  if (m.exclude.length) lines.push(`  exclude: ${list(m.exclude)}`);
  lines.push('target:', `  address: ${q(m.targetAddress)}`, `  id: ${q(m.targetId)}`, `  path: ${q(m.targetPath)}`);
  lines.push('mirror:', `  mode: ${m.mode}`, `  orphans: ${m.orphans}`);
  if (m.failover) {
    lines.push('failover:', '  monitor:', `    addresses: ${list(m.monitor)}`, `  trigger: ${m.trigger}`, `  mode: ${m.failoverMode}`);
  }
  return lines.join('\n') + '\n';
}

/** Splits a textarea into its non-empty trimmed lines. */
export function linesOf(text) {
  return text.split('\n').map((s) => s.trim()).filter((s) => s.length > 0);
}

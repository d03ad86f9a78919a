// Plain-text tables for the terminal (and for pasting into docs/benchmarks.md as Markdown).

/**
 * Renders rows as a Markdown table, columns padded so it also reads well in a terminal.
 * @param {string[]} headers
 * @param {(string | number)[][]} rows
 * @param {{ align?: ('l' | 'r')[] }} [options]
 */
export function table(headers, rows, options = {}) {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  const align = options.align ?? headers.map((_, column) => (column === 0 ? 'l' : 'r'));
  const pad = (text, column) => (align[column] === 'l' ? text.padEnd(widths[column]) : text.padStart(widths[column]));
  const line = (row) => `| ${row.map((text, column) => pad(text ?? '', column)).join(' | ')} |`;
  const rule = `|${widths.map((width, column) => (align[column] === 'l' ? `:${'-'.repeat(width + 1)}` : `${'-'.repeat(width + 1)}:`)).join('|')}|`;
  return [line(cells[0]), rule, ...cells.slice(1).map(line)].join('\n');
}

/** A number with a fixed count of decimals, or '—' when it is not a number. */
export function fixed(value, decimals = 0) {
  return Number.isFinite(value) ? value.toFixed(decimals) : '—';
}

/** A whole number with its sign (`+390`, `−120`), or '—' when it is not a number. */
export function signed(value) {
  if (!Number.isFinite(value)) return '—';
  const rounded = Math.round(value);
  return rounded > 0 ? `+${rounded}` : rounded < 0 ? `−${-rounded}` : '0';
}

/** `1.23×`, with a verdict mark against a target when one is given. */
export function ratio(value, target) {
  if (!Number.isFinite(value)) return '—';
  const text = `${value.toFixed(2)}×`;
  if (target === undefined) return text;
  return value <= target ? `${text} ✓` : `${text} ✗`;
}

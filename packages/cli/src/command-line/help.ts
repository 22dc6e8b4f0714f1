import type { CommandLineSpec, OptionSpec } from './parse.js';

const placeholder = (o: OptionSpec): string => {
  if (o.type === 'boolean') return '';
  if (o.value) return o.value;
  if (o.choices) return o.choices.join('|');
  return o.type === 'int' ? 'N' : o.type === 'number' ? 'X' : 'TEXT';
};

/** `--flag VALUE` as the command takes it. */
export function flagText(spec: Pick<CommandLineSpec, 'dash'>, o: OptionSpec): string {
  const value = placeholder(o);
  return `${spec.dash}${o.name}${value ? ` ${value}` : ''}`;
}

function wrap(text: string, width: number, indent: number): string {
  const words = text.split(' ');
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

/**
 * A command's `--help`, written from the same table that parses its flags: the usage line,
 * what it does, its arguments, then each option with its value, meaning, default and
 * environment variable.
 */
export function formatHelp(spec: CommandLineSpec): string {
  const positionals = (spec.positionals ?? []).map((p) => (p.optional ? `[${p.name}]` : p.name));
  const out = [
    `usage: rowshard ${spec.command}${spec.options.length > 0 ? ' [options]' : ''}${positionals.length ? ` ${positionals.join(' ')}` : ''}`,
    '',
    spec.summary,
  ];
  const rows: [string, string][] = [];
  for (const p of spec.positionals ?? []) rows.push([p.name, p.help]);
  const optionRows: [string, string][] = spec.options.map((o) => {
    const extra = [o.default !== undefined ? `default ${o.default}` : null, o.env ? `env ${o.env}` : null].filter(
      (x) => x !== null,
    );
    return [flagText(spec, o), `${o.help}${extra.length ? ` (${extra.join('; ')})` : ''}`];
  });
  optionRows.push([`-h, --help`, 'this help']);
  const width = Math.min(30, Math.max(...[...rows, ...optionRows].map(([l]) => l.length)) + 2);
  const format = ([left, right]: [string, string]) =>
    `  ${left.padEnd(width)}${left.length >= width ? `\n  ${' '.repeat(width)}` : ''}${wrap(right, 96 - width, width + 2)}`;
  if (rows.length > 0) out.push('', 'arguments:', ...rows.map(format));
  out.push('', 'options:', ...optionRows.map(format));
  if (spec.notes?.length) out.push('', ...spec.notes);
  return `${out.join('\n')}\n`;
}

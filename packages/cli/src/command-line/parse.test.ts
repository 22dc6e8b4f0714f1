import { describe, expect, it } from 'vitest';
import { formatHelp } from './help.js';
import { type CommandLineSpec, HelpRequested, parseCommandLine } from './parse.js';
import { didYouMean } from './suggest.js';

const gnu: CommandLineSpec = {
  command: 'train',
  summary: 'train a job',
  dash: '--',
  options: [
    { name: 'lr', type: 'number', min: 0, help: 'learning rate', env: 'ROWSHARD_LR' },
    { name: 'shift', type: 'number', help: 'any number' },
    { name: 'steps', type: 'int', min: 1, help: 'steps' },
    { name: 'epochs', type: 'number', min: 0, minExclusive: true, help: 'passes' },
    { name: 'data', type: 'string', value: 'FILE', help: 'data file' },
    { name: 'format', type: 'string', choices: ['csv', 'tsv'], help: 'format' },
    { name: 'checkpoint-dir', type: 'string', value: 'DIR', help: 'where' },
    { name: 'json', type: 'boolean', help: 'json lines' },
  ],
};
const fastText: CommandLineSpec = {
  command: 'supervised',
  summary: 'fastText',
  dash: '-',
  options: [
    { name: 'lr', type: 'number', min: 0, help: 'learning rate' },
    { name: 'input', type: 'string', help: 'file' },
  ],
};
const parse = (spec: CommandLineSpec, argv: string[]) => parseCommandLine(spec, argv, () => formatHelp(spec));

describe('parseCommandLine', () => {
  it('takes negative numbers as values, in both spellings, and checks them against the option', () => {
    expect(parse(gnu, ['--shift', '-1.5', '--steps', '3']).values).toEqual({ shift: -1.5, steps: 3 });
    expect(parse(gnu, ['--shift=-2e-3']).values).toEqual({ shift: -0.002 });
    expect(() => parse(gnu, ['--lr', '-1'])).toThrow('--lr: must be a non-negative number, got "-1"');
    expect(() => parse(gnu, ['--epochs=-2'])).toThrow('--epochs: must be a positive number, got "-2"');
    expect(() => parse(gnu, ['--steps', '2.5'])).toThrow('--steps: must be a positive integer, got "2.5"');
    expect(() => parse(fastText, ['-lr', '-1'])).toThrow('-lr: must be a non-negative number, got "-1"');
    expect(parse(fastText, ['-lr', '0.5', '-input', 'a.txt']).values).toEqual({ lr: 0.5, input: 'a.txt' });
  });

  it('refuses an unknown option with the nearest known one, and a missing value', () => {
    expect(() => parse(gnu, ['--chekpoint-dir', 'x'])).toThrow(
      /unknown option --chekpoint-dir \(did you mean --checkpoint-dir\?\)/,
    );
    expect(() => parse(gnu, ['--data', '--format', 'csv'])).toThrow('train: --data needs a value');
    expect(() => parse(gnu, ['--data'])).toThrow('train: --data needs a value');
    expect(() => parse(gnu, ['--format', 'xml'])).toThrow('--format: must be one of csv, tsv, got "xml"');
    expect(() => parse(gnu, ['-x'])).toThrow(/unknown option -x/);
  });

  it('keeps positionals, `-` and everything after `--`', () => {
    expect(parse(gnu, ['a', '-', '--json', '--', '--lr', '-h'])).toEqual({
      values: { json: true },
      positionals: ['a', '-', '--lr', '-h'],
    });
    expect(parse(gnu, ['--json=false']).values).toEqual({ json: false });
  });

  it('--help, -h (and fastText -help) ask for the help written from the same table', () => {
    for (const [spec, argv] of [
      [gnu, ['--steps', '3', '--help']],
      [gnu, ['-h']],
      [fastText, ['-help']],
    ] as const) {
      let help = '';
      try {
        parse(spec, [...argv]);
      } catch (e) {
        if (e instanceof HelpRequested) help = e.text;
      }
      expect(help).toMatch(new RegExp(`^usage: rowshard ${spec.command} \\[options\\]`));
      for (const o of spec.options) expect(help).toContain(`${spec.dash}${o.name}`);
    }
    expect(formatHelp(gnu)).toMatch(/--lr X +learning rate \(env ROWSHARD_LR\)/);
    expect(formatHelp(gnu)).toMatch(/--format csv\|tsv/);
  });
});

describe('didYouMean', () => {
  it('finds a swapped, dropped or extra letter, and stays quiet when nothing is close', () => {
    const commands = ['train', 'demo', 'parity', 'export', 'similar', 'supervised', 'test', 'predict', 'token'];
    expect(didYouMean('trian', commands)).toBe('train');
    expect(didYouMean('exprot', commands)).toBe('export');
    expect(didYouMean('supervise', commands)).toBe('supervised');
    expect(didYouMean('tset', commands)).toBe('test');
    expect(didYouMean('frobnicate', commands)).toBeNull();
  });
});

import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** A child that prints the arguments roleArguments gives it, started with `argv` (node -e: argv from index 1), fed `stdin`. */
function argsOf(argv: string[], stdin: string | null): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script = `import('@rowshard/transport').then((t) => t.roleArguments(process.argv.slice(1))).then(
    (a) => console.log(JSON.stringify(a)),
    (e) => { console.error(e.message); process.exitCode = 2; })`;
  const child = spawn(process.execPath, ['-e', script, '--', ...argv], { cwd: import.meta.dirname });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  if (stdin === null) child.stdin.end();
  else child.stdin.write(stdin); // left open, as a launcher leaves it
  // 'close': the exit with every byte of its output read.
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('roleArguments', () => {
  it('is argv for a role started with its arguments', async () => {
    const r = await argsOf(['--coordinator', 'ws://x'], null);
    expect(JSON.parse(r.stdout)).toEqual(['--coordinator', 'ws://x']);
  });

  it('is the first line of stdin for a role started ahead (--args-on-stdin)', async () => {
    const r = await argsOf(['--args-on-stdin'], '["--job","a b.json"]\n');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(['--job', 'a b.json']);
  });

  it('exits 0 without running when stdin ends before the arguments', async () => {
    const r = await argsOf(['--args-on-stdin'], null);
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('refuses a line that is not a JSON array of strings, saying so', async () => {
    const notJson = await argsOf(['--args-on-stdin'], '--job x\n');
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/--args-on-stdin: stdin's first line is not JSON: --job x/);
    const numbers = await argsOf(['--args-on-stdin'], '[1, 2]\n');
    expect(numbers.stderr).toMatch(/must be a JSON array of strings, got \[1, 2\]/);
  });
});

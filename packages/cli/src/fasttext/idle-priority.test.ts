import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';

/** The built module (the test command builds first): a worker thread loads JavaScript, not this package's TypeScript. */
const built = new URL('../../dist/fasttext/idle-priority.js', import.meta.url).href;

/** Scheduling policy and nice value of a thread, from its /proc stat line (fields 41 and 19). */
function schedulingOf(statPath: string): { policy: number; nice: number } {
  const stat = readFileSync(statPath, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3, the state
  return { policy: Number(fields[38]), nice: Number(fields[16]) };
}

const SCHED_OTHER = 0;
const SCHED_IDLE = 5;
const hasChrt = spawnSync('chrt', ['--version'], { stdio: 'ignore' }).status === 0;

describe.skipIf(process.platform !== 'linux')('lowerToIdlePriority', () => {
  it('puts the calling thread under SCHED_IDLE at nice 19, and leaves the process’s other threads as they were', async () => {
    const before = schedulingOf('/proc/thread-self/stat');
    const code = `
      const { parentPort } = require('node:worker_threads');
      const { readFileSync } = require('node:fs');
      import(${JSON.stringify(built)}).then((m) => {
        const lowered = m.lowerToIdlePriority();
        parentPort.postMessage({ lowered, stat: readFileSync('/proc/thread-self/stat', 'utf8') });
      });`;
    const worker = new Worker(code, { eval: true });
    const got = await new Promise<{ lowered: string; stat: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    const fields = got.stat.slice(got.stat.lastIndexOf(')') + 2).split(' ');
    expect(got.lowered).toBe(hasChrt ? 'sched_idle' : 'nice');
    expect(Number(fields[38])).toBe(hasChrt ? SCHED_IDLE : SCHED_OTHER);
    expect(Number(fields[16])).toBe(19);
    // This thread, the test's, is untouched.
    expect(schedulingOf('/proc/thread-self/stat')).toEqual(before);
    expect(before.policy).toBe(SCHED_OTHER);
  });
});

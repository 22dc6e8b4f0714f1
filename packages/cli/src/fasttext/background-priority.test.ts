import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';

/** The built module (the test command builds first): a worker thread loads JavaScript, not this package's TypeScript. */
const built = new URL('../../dist/fasttext/background-priority.js', import.meta.url).href;

/** Scheduling policy and nice value of a thread, from its /proc stat line (fields 41 and 19). */
function schedulingOf(stat: string): { policy: number; nice: number } {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3, the state
  return { policy: Number(fields[38]), nice: Number(fields[16]) };
}

describe.skipIf(process.platform !== 'linux')('lowerToBackgroundPriority', () => {
  it('puts the calling thread at nice 19 and leaves the process’s other threads as they were', async () => {
    const before = schedulingOf(readFileSync('/proc/thread-self/stat', 'utf8'));
    const code = `
      const { parentPort } = require('node:worker_threads');
      const { readFileSync } = require('node:fs');
      import(${JSON.stringify(built)}).then((m) => {
        const lowered = m.lowerToBackgroundPriority();
        parentPort.postMessage({ lowered, stat: readFileSync('/proc/thread-self/stat', 'utf8') });
      });`;
    const worker = new Worker(code, { eval: true });
    const got = await new Promise<{ lowered: boolean; stat: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    expect(got.lowered).toBe(true);
    // A new thread starts with its creator's policy, and keeps it.
    expect(schedulingOf(got.stat)).toEqual({ policy: before.policy, nice: 19 });
    // This thread, the test's, is untouched.
    expect(schedulingOf(readFileSync('/proc/thread-self/stat', 'utf8'))).toEqual(before);
  });
});

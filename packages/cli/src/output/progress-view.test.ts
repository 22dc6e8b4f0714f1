import { describe, expect, it } from 'vitest';
import { checkpointSummary, ProgressView } from './progress-view.js';

function view(): { view: ProgressView; text: () => string } {
  let text = '';
  const out = { isTTY: false, write: (s: string) => (text += s) } as unknown as NodeJS.WriteStream;
  return { view: new ProgressView({ metrics: null, dashboard: false, json: false, quiet: false }, 40, out), text: () => text };
}

const result = { steps: 40, examples: 1280, seconds: 2, losses: [0.5], evals: [] };

describe('ProgressView: checkpoints', () => {
  it('says which checkpoint failed and why, and which one was skipped and why', () => {
    const v = view();
    v.view.event('coordinator', {
      event: 'checkpoint_failed',
      step: 30,
      dir: '/ck/step-00000030',
      code: 'E_CHECKPOINT_WRITE',
      reason: 'shard 0: writing /ck/step-00000030/shard-0.safetensors: ENOSPC: no space left on device, write',
    });
    v.view.event('coordinator', {
      event: 'checkpoint_skipped',
      name: 'step-00000040',
      dir: '/ck/step-00000040',
      reason: '/ck/step-00000040/manifest.json: unreadable (Unexpected end of JSON input)',
    });
    expect(v.text()).toBe(
      'checkpoint step 30 failed, training goes on: shard 0: writing /ck/step-00000030/shard-0.safetensors: ENOSPC: no space left on device, write\n' +
        'skipping checkpoint step-00000040: /ck/step-00000040/manifest.json: unreadable (Unexpected end of JSON input)\n',
    );
  });

  it.each([
    [{ lastCheckpointStep: 40, checkpointsWritten: 4, checkpointsFailed: 0 }, 'checkpoints: 4 written'],
    [
      { lastCheckpointStep: 20, checkpointsWritten: 2, checkpointsFailed: 2 },
      'checkpoints: 2 written, 2 failed, no final checkpoint (last at step 20)',
    ],
    [
      { lastCheckpointStep: null, checkpointsWritten: 0, checkpointsFailed: 4 },
      'checkpoints: 0 written, 4 failed, no final checkpoint (none written)',
    ],
  ])('the summary counts them and says when the final one is missing: %j', (counts, words) => {
    const v = view();
    v.view.summary(result, null, checkpointSummary({ ...result, ...counts }, true));
    expect(v.text()).toMatch(new RegExp(`; ${words.replace(/[()]/g, '\\$&')}\\n$`));
  });

  it('a job without checkpoints says nothing about them', () => {
    const v = view();
    const counts = { lastCheckpointStep: null, checkpointsWritten: 0, checkpointsFailed: 0 };
    v.view.summary(result, null, checkpointSummary({ ...result, ...counts }, false));
    expect(v.text()).not.toContain('checkpoint');
  });
});

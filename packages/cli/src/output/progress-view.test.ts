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

describe('ProgressView: held-out accuracy says what it was measured on', () => {
  it('a sample during training, the whole eval set at the end, generated data as generated', () => {
    const v = view();
    v.view.event('coordinator', { event: 'eval', step: 20, loss: 0.5, accuracy: 0.9, examples: 1024, setSize: 3000 });
    v.view.summary({ ...result, evals: [{ accuracy: 0.925, examples: 3000, setSize: 3000 }] }, 0.5, null);
    expect(v.text()).toContain('eval  step 20  loss 0.5000  accuracy 90.0%  (1,024 of 3,000 eval examples)\n');
    expect(v.text()).toMatch(/; held-out accuracy 92\.5% on all 3,000 eval examples \(chance 50\.0%\)\n$/);
    const g = view();
    g.view.summary({ ...result, evals: [{ accuracy: 0.8, examples: 1024, setSize: null }] }, null, null);
    expect(g.text()).toMatch(/held-out accuracy 80\.0% on 1,024 generated examples\n$/);
  });
});

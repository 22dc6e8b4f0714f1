import { parseJobConfig } from '@rowshard/core';
import { describe, expect, it } from 'vitest';
import { jobIdentity } from './job-identity.js';

const job = (sync: unknown) =>
  parseJobConfig({
    model: { name: 'text_classifier', options: { vocabSize: 100, embeddingDim: 4, hiddenDim: 4, numClasses: 2 } },
    data: { kind: 'synthetic_text', vocabSize: 100, seqLen: 4, numClasses: 2 },
    steps: 3,
    sync,
  });

describe('a job fingerprint', () => {
  it('leaves out sync.poolBags, which decides what travels (a checkpoint resumes with it on or off)', () => {
    const plain = jobIdentity(job('bsp')).fingerprint;
    expect(jobIdentity(job({ mode: 'bsp', poolBags: false })).fingerprint).toBe(plain);
    expect(jobIdentity(job({ mode: 'bsp', poolBags: true })).fingerprint).toBe(plain);
    expect(jobIdentity(job('asp')).fingerprint).not.toBe(plain);
  });
});

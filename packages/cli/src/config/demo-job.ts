/**
 * The job `rowshard train` runs with no config: nothing to download. A deterministic
 * synthetic corpus over a 1,000,000-word vocabulary with zipf(1.1) word frequencies, where
 * each of four classes plants its own mid-frequency "signal" words among the noise; the
 * seed's text classifier learns it, and held-out accuracy
 * (fresh examples from another seed) climbs far above the 25% of chance. It leaves the
 * cluster out, so `rowshard train` sizes it for the machine.
 */
export function demoJob(): Record<string, unknown> {
  const data = { kind: 'synthetic_text', vocabSize: 1_000_000, seqLen: 24, numClasses: 4, zipfS: 1.1, rule: 'signal_tokens' };
  return {
    seed: 0,
    model: {
      name: 'text_classifier',
      options: { vocabSize: 1_000_000, embeddingDim: 32, hiddenDim: 32, numClasses: 4, dropout: 0.1 },
    },
    optimizers: {
      embeddings: { kind: 'sparse_adam', lr: 0.05 },
      dense: { kind: 'adam', lr: 0.01 },
    },
    sync: { mode: 'bsp' },
    steps: 300,
    batchSize: 256,
    data: { ...data, seed: 1 },
    eval: { data: { ...data, seed: 2 }, everySteps: 50, batches: 4, batchSize: 256 },
    logEverySteps: 10,
  };
}

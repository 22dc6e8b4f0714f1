import { readFileSync } from 'node:fs';
import { type Batch, parity } from '@rowshard/nn';
import { type BatchSource, sliceBatch } from './batch-source.js';

/** The batches of a trajectory fixture; global batch t is the fixture's batch t (cycled). */
export class FixtureBatches implements BatchSource {
  private readonly batches: Batch[];

  constructor(path: string) {
    const text = readFileSync(path, 'utf8');
    const json = JSON.parse(text);
    this.batches = parity.readTrajectoryFixture(new parity.FixtureReader(path), json).batches;
  }

  get size(): number {
    return this.batches.length;
  }

  slice(step: number, start: number, end: number): Batch {
    return sliceBatch(this.batches[step % this.batches.length], start, end);
  }
}

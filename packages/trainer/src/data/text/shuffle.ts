import { configError, nonNegativeInt, philox4x32, positiveInt, streamKey } from '@rowshard/core';

/**
 * Uniform integers in [0, n) from Philox keyed by (seed, 'shuffle'): the generator the rest
 * of rowshard already uses, so a seed means the same thing everywhere and no new PRNG needs
 * checking. Draw k reads counter block k/2; 53 bits per draw keep the bias below n / 2^53.
 */
class UniformInts {
  private readonly key;
  private readonly block = new Uint32Array(4);
  private draws = 0;

  constructor(seed: number) {
    this.key = streamKey(seed, 'shuffle');
  }

  below(n: number): number {
    const half = this.draws & 1;
    if (half === 0) {
      const counter = this.draws / 2;
      philox4x32(this.key.k0, this.key.k1, counter >>> 0, Math.floor(counter / 4294967296), 0, 0, this.block);
    }
    this.draws++;
    const a = this.block[half * 2] >>> 5;
    const b = this.block[half * 2 + 1] >>> 6;
    return Math.floor(((a * 67108864 + b) / 9007199254740992) * n);
  }
}

/**
 * A shuffling buffer (as tf.data's): keeps `bufferSize` elements, and for each new one emits a
 * uniformly chosen buffered element and puts the new one in its place; at the end the rest
 * come out in random order. Streams larger than memory can be shuffled; an element moves at
 * most about bufferSize places early, so make the buffer a good share of the data, or
 * pre-shuffle the file, when the file is sorted by label. Same seed and input, same order: use
 * a different seed per epoch (e.g. seed + epoch) for a different order each epoch.
 */
export async function* shuffled<T>(
  source: AsyncIterable<T>,
  bufferSize: number,
  seed: number,
): AsyncGenerator<T, void, undefined> {
  const buffer = new ShuffleBuffer<T>(bufferSize, seed);
  const out: T[] = [];
  for await (const item of source) {
    buffer.add(item, out);
    if (out.length > 0) {
      yield out[0];
      out.length = 0;
    }
  }
  buffer.drain(out);
  yield* out;
}

/**
 * `shuffled`'s buffer, fed and emptied by the caller: the same draws, so the same order, for a
 * reader that has its elements a chunk at a time (FastTextBatches) and need not await each one.
 */
export class ShuffleBuffer<T> {
  private readonly random: UniformInts;
  private readonly buffer: T[] = [];

  constructor(
    private readonly size: number,
    seed: number,
  ) {
    positiveInt(size, 'bufferSize');
    nonNegativeInt(seed, 'seed');
    this.random = new UniformInts(seed);
  }

  /** Takes `item`; once the buffer is full, appends to `out` the element it puts `item` in place of. */
  add(item: T, out: T[]): void {
    if (this.buffer.length < this.size) {
      this.buffer.push(item);
      return;
    }
    const j = this.random.below(this.size);
    out.push(this.buffer[j]);
    this.buffer[j] = item;
  }

  /** The end of the stream: appends to `out` what is left, in random order (Fisher-Yates). */
  drain(out: T[]): void {
    const buffer = this.buffer;
    for (let n = buffer.length; n > 0; n--) {
      const j = this.random.below(n);
      out.push(buffer[j]);
      buffer[j] = buffer[n - 1];
      buffer.pop();
    }
  }
}

/** Whether the element at `index` belongs to `shard` of `numShards` (round robin). */
export function shardFilter(shard: number, numShards: number): (index: number) => boolean {
  positiveInt(numShards, 'numShards');
  nonNegativeInt(shard, 'shard');
  if (shard >= numShards) throw configError('shard', `must be below numShards (${numShards}), got ${shard}`);
  return (index) => index % numShards === shard;
}

/**
 * Every numShards-th element starting at `shard`: the shards of one stream are disjoint and
 * together cover it, with sizes differing by at most one, so each worker can read the same
 * file and keep its own share. Shard before shuffling so each worker shuffles only its share.
 */
export async function* takeShard<T>(
  source: AsyncIterable<T>,
  shard: number,
  numShards: number,
): AsyncGenerator<T, void, undefined> {
  const keep = shardFilter(shard, numShards);
  let index = 0;
  for await (const item of source) {
    if (keep(index++)) yield item;
  }
}

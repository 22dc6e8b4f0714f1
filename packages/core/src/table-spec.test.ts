import { describe, expect, it } from 'vitest';
import { RowshardError } from './errors.js';
import { parseTableSpec, tableSpec } from './table-spec.js';

describe('table spec', () => {
  it("has nn.Embedding's defaults", () => {
    const t = tableSpec({ name: 'w', numEmbeddings: 10, embeddingDim: 4 });
    expect(t).toMatchObject({
      kind: 'dense',
      paddingIdx: null,
      maxNorm: null,
      normType: 2,
      scaleGradByFreq: false,
      frozen: false,
      init: { kind: 'normal', mean: 0, std: 1 },
    });
  });

  it('normalises a negative padding_idx as PyTorch does', () => {
    expect(tableSpec({ name: 'w', numEmbeddings: 10, embeddingDim: 4, paddingIdx: -1 }).paddingIdx).toBe(9);
  });

  it.each([
    [{ name: 'w', numEmbeddings: 0, embeddingDim: 4 }, 'table.numEmbeddings: must be a positive integer, got 0'],
    [{ name: 'w', numEmbeddings: 10, embeddingDim: 2.5 }, 'table.embeddingDim: must be a positive integer, got 2.5'],
    [{ name: 'w', numEmbeddings: 10, embeddingDim: 4, paddingIdx: 10 }, 'table.paddingIdx'],
    [{ name: 'w', numEmbeddings: 10, embeddingDim: 4, maxNorm: -1 }, 'table.maxNorm: must be > 0'],
    [{ name: 'w', numEmbeddings: 10, embeddingDim: 4, colour: 'red' }, 'table.colour: unknown field'],
    [{ name: 'w', numEmbeddings: 10, embeddingDim: 4, init: { kind: 'gamma' } }, 'table.init.kind: must be one of'],
    [{ name: 'a b', numEmbeddings: 10, embeddingDim: 4 }, 'table.name'],
  ])('refuses %j naming the field', (input, message) => {
    let err: unknown;
    try {
      parseTableSpec(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RowshardError);
    expect((err as RowshardError).code).toBe('E_BAD_CONFIG');
    expect((err as RowshardError).message).toContain(message);
  });
});

import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../errors.js';
import { decodeRequest } from './protocol.js';
import { psProtocol } from './ps-protocol.js';

const pull = (part: object) => ({ v: 1, type: 'pull', id: 1, tables: [part] });
const push = (part: object) => ({ v: 1, type: 'push', id: 1, tables: [{ lr: 0.1, step: 1, ...part }] });
const ids = Uint32Array.of(4, 9, 4);

describe('pooled parts on the wire (bags)', () => {
  it('decode with a bag per id and a gradient row per bag', () => {
    const bags = Int32Array.of(0, 0, 1);
    expect(decodeRequest(psProtocol, 'ps', pull({ table: 't', ids, bags, bagCount: 2 })).request).toMatchObject({
      tables: [{ bags, bagCount: 2 }],
    });
    expect(decodeRequest(psProtocol, 'ps', pull({ table: 't', ids, bags, bagCount: 2, idTree: true })).request).toMatchObject({
      tables: [{ idTree: true }],
    });
    const grads = new Float32Array(2 * 5);
    expect(decodeRequest(psProtocol, 'ps', push({ table: 't', ids, bags, bagCount: 2, grads })).request).toMatchObject({
      tables: [{ bagCount: 2, grads }],
    });
  });

  it.each([
    ['bags without bagCount', pull({ table: 't', ids, bags: Int32Array.of(0, 0, 1) }), 'bags and bagCount go together'],
    ['a bag per id missing', pull({ table: 't', ids, bags: Int32Array.of(0, 1), bagCount: 2 }), 'has 2 entries for 3 ids'],
    ['a bag out of range', pull({ table: 't', ids, bags: Int32Array.of(0, 2, 1), bagCount: 2 }), 'position 1 names bag 2'],
    [
      'more bags than ids',
      pull({ table: 't', ids, bags: Int32Array.of(0, 1, 2), bagCount: 4 }),
      'is 4, more bags than the 3 ids',
    ],
    ['bags of floats', pull({ table: 't', ids, bags: Float32Array.of(0, 0, 1), bagCount: 2 }), 'an Int32Array'],
    ['the id tree asked of rows', pull({ table: 't', ids, idTree: true }), 'idTree is for pooled parts'],
    ['the id tree as a number', pull({ table: 't', ids, bags: Int32Array.of(0, 0, 1), bagCount: 2, idTree: 1 }), 'true or false'],
    [
      'gradients not a whole number of bag rows',
      push({ table: 't', ids, bags: Int32Array.of(0, 0, 1), bagCount: 2, grads: new Float32Array(5) }),
      'not a whole number of rows for 2 bags',
    ],
  ])('refuse %s, naming it', (_what, envelope, why) => {
    expect(() => decodeRequest(psProtocol, 'ps', envelope)).toThrow(
      expect.objectContaining({ code: ErrorCodes.BAD_REQUEST, message: expect.stringContaining(why) }),
    );
  });
});

import { describe, expect, it } from 'vitest';
import { ErrorCodes } from './errors.js';
import { checkRequestSize, splitRequest } from './request-limits.js';

const limits = { maxRows: 10, maxBytes: 400 };
const rows = (n: number, floatsPerRow = 4) => ({ ids: { length: n }, floatsPerRow });
const pooled = (n: number, pooledBytes: number) => ({ ids: { length: n }, floatsPerRow: 4, pooledBytes });

describe('request limits', () => {
  it('cut parts of rows into whole rows, and send a pooled part whole, in a request of its own if need be', () => {
    expect(splitRequest([rows(4), pooled(3, 100)], limits)).toEqual([
      [
        { part: 0, from: 0, to: 4 },
        { part: 1, from: 0, to: 3 },
      ],
    ]);
    // 8 rows leave room for 2 more: the pooled part of 3 starts the next request, and is not cut.
    expect(splitRequest([rows(8), pooled(3, 100), rows(9)], limits)).toEqual([
      [{ part: 0, from: 0, to: 8 }],
      [
        { part: 1, from: 0, to: 3 },
        { part: 2, from: 0, to: 7 },
      ],
      [{ part: 2, from: 7, to: 9 }],
    ]);
  });

  it("count a pooled part's bytes as given, and refuse one over the limits alone", () => {
    expect(() => checkRequestSize('pull', [pooled(2, 401)], limits)).toThrow(
      expect.objectContaining({ code: ErrorCodes.TOO_LARGE, message: expect.stringContaining('401 bytes') }),
    );
    expect(() => checkRequestSize('pull', [pooled(9, 400)], limits)).not.toThrow();
    expect(() => splitRequest([rows(1), pooled(11, 40)], limits)).toThrow(
      expect.objectContaining({ code: ErrorCodes.TOO_LARGE, message: expect.stringContaining('a pooled part of 11 ids') }),
    );
  });
});

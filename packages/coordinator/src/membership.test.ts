import { describe, expect, it } from 'vitest';
import { ShardTable } from './membership.js';

describe('ShardTable', () => {
  it('keeps a shard by PS name, and a re-registration on a new connection means the old one is not a loss', () => {
    const table = new ShardTable(2);
    expect(table.assign(1, 'ws://a:1', null, 'a')).toBe(0);
    expect(table.assign(2, 'ws://b:1', null, 'b')).toBe(1);
    // PS 'a' registers again on a new connection (its link blipped) before the old one closes.
    expect(table.assign(3, 'ws://a:1', null, 'a')).toBe(0);
    expect(table.connectionClosed(1)).toBeNull();
    expect(table.connectionClosed(2)).toBe(1);
    expect(table.connectionClosed(2)).toBeNull();
    expect(table.connectionClosed(42)).toBeNull();
  });

  it('gives a newcomer the shard of a lost PS, and refuses one when every shard is live', () => {
    const table = new ShardTable(2);
    table.assign(1, 'ws://a:1', null, 'a');
    table.assign(2, 'ws://b:1', null, 'b');
    expect(() => table.assign(3, 'ws://c:1', null, 'c')).toThrow(/all 2 shards have a live parameter server/);
    table.markGone(table.connectionClosed(1)!);
    expect(table.assign(3, 'ws://c:1', null, 'c')).toBe(0);
    expect(table.shardUrls()).toEqual(['ws://c:1', 'ws://b:1']);
  });
});

import { copyRow, idHalves, psProtocol, type RequestLimits, shardOfDense, shardOfHashed, type TableSpec } from '@rowshard/core';
import { type Model, parity, tableStateName } from '@rowshard/nn';
import { RpcClient } from '@rowshard/transport';
import type { HashedRows } from './hashed-pretrained.js';

/**
 * A starting state given as a trajectory fixture's `initial_state` (PyTorch state_dict
 * names): table weights go to the shards that own each row, dense values to the coordinator.
 */
export function loadInitialState(
  json: unknown,
  file: string,
  model: Model,
): { dense: Record<string, Float32Array>; tables: Record<string, Float32Array> } {
  const r = new parity.FixtureReader(file);
  const root = r.object(json, '(top level)');
  const state = r.object(r.field(root, 'initial_state', ''), 'initial_state');
  const tables: Record<string, Float32Array> = {};
  for (const spec of model.tables) {
    const key = tableStateName(spec.name);
    const t = r.tensor(r.field(state, key, 'initial_state'), `initial_state.${key}`);
    if (t.data.length !== spec.numEmbeddings * spec.embeddingDim) {
      throw r.fail(`initial_state.${key}`, `is [${t.shape.join(', ')}], table is [${spec.numEmbeddings}, ${spec.embeddingDim}]`);
    }
    tables[spec.name] = t.data;
  }
  const dense: Record<string, Float32Array> = {};
  for (const p of model.dense) dense[p.name] = r.tensor(r.field(state, p.name, 'initial_state'), `initial_state.${p.name}`).data;
  return { dense, tables };
}

/** Sends every row of each given table to the shard that owns it (`load` requests within `limits`). */
export async function loadTablesIntoShards(
  tables: Record<string, Float32Array | HashedRows>,
  specs: readonly TableSpec[],
  shardUrls: readonly string[],
  token: string | null,
  limits: RequestLimits,
): Promise<void> {
  const n = shardUrls.length;
  await Promise.all(
    shardUrls.map(async (url, shard) => {
      const client = new RpcClient({ url, token, protocol: psProtocol, peerName: `ps ${shard}` });
      try {
        await client.connect();
        for (const spec of specs) {
          const given = tables[spec.name];
          if (!given) continue;
          const dim = spec.embeddingDim;
          const perMessage = Math.max(1, Math.min(limits.maxRows, Math.floor(limits.maxBytes / (4 * dim))));
          if (!(given instanceof Float32Array)) {
            // A hashed table: each id to the shard its hash names.
            const halves = idHalves(given.ids);
            const owned: number[] = [];
            for (let i = 0; i < given.ids.length; i++)
              if (shardOfHashed(halves[2 * i], halves[2 * i + 1], n) === shard) owned.push(i);
            for (let at = 0; at < owned.length; at += perMessage) {
              const part = owned.slice(at, at + perMessage);
              const ids = BigUint64Array.from(part, (i) => given.ids[i]);
              const rows = new Float32Array(part.length * dim);
              part.forEach((i, k) => copyRow(given.rows, i * dim, rows, k * dim, dim));
              await client.request('load', { tables: [{ table: spec.name, ids, rows }] });
            }
            continue;
          }
          const values = given;
          const owned: number[] = [];
          for (let row = 0; row < spec.numEmbeddings; row++) if (shardOfDense(row, n) === shard) owned.push(row);
          for (let at = 0; at < owned.length; at += perMessage) {
            const ids = Uint32Array.from(owned.slice(at, at + perMessage));
            const rows = new Float32Array(ids.length * dim);
            for (let i = 0; i < ids.length; i++) copyRow(values, ids[i] * dim, rows, i * dim, dim);
            await client.request('load', { tables: [{ table: spec.name, ids, rows }] });
          }
        }
      } finally {
        await client.close();
      }
    }),
  );
}

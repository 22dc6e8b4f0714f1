import { fork } from 'node:child_process';
import { tableSpec } from '@rowshard/core';
import { startPsProcesses } from '@rowshard/testkit';
import { PsClient } from '@rowshard/trainer';
import { roleCredential } from '@rowshard/transport';
import { WebSocket } from 'ws';
import { processCpuMs } from './cpu-time.js';
import { median } from './stats.js';

// bench:ps's last measurement (ps-bench.ts runs it): what one small request costs, beside the
// bare WebSocket round trip under it.

/** Rows in each request of the request-cost measurement: a small one, where the per-request costs show. */
const COST_ROWS = 64;
/** Requests per measurement: enough CPU time for the shard's 10 ms clock ticks to count in percent. */
const COST_REQUESTS = 5000;

export interface RequestCost {
  /** CPU time per request, in µs, of the sending process and of the answering one. */
  readonly clientUs: number;
  readonly serverUs: number;
}

export interface RequestCosts {
  readonly rows: number;
  readonly pull: RequestCost;
  readonly push: RequestCost;
  /** A bare WebSocket round trip with a pull's payload sizes (ids out, rows back), and a push's (ids and rows out). */
  readonly barePull: RequestCost;
  readonly barePush: RequestCost;
}

/**
 * What one request costs, one in flight: the CPU time of the client (this process) and of the
 * shard (its process, from /proc) per pull and per push of COST_ROWS rows through PsClient, and
 * per round trip of the same payload sizes between a bare `ws` client and a bare `ws` server
 * process (ws-echo.ts), interleaved, medians of REPEATS. What the baseline leaves is
 * rowshard's own handling of a request: the codec, the checks, the RPC bookkeeping and the
 * shard's work on the rows.
 */
export async function requestCost(o: {
  readonly dim: number;
  readonly optimizer: { readonly kind: string; readonly lr: number };
  readonly token: string;
  readonly repeats: number;
}): Promise<RequestCosts> {
  const { dim: DIM, optimizer: OPTIMIZER, token: TOKEN, repeats: REPEATS } = o;
  const spec = { name: 'emb', numEmbeddings: 100_000, embeddingDim: DIM };
  const cluster = await startPsProcesses({ numShards: 1, tables: [{ spec, optimizer: OPTIMIZER }], token: TOKEN });
  const echo = fork(new URL('./ws-echo.js', import.meta.url), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  let client: PsClient | null = null;
  let bare: WebSocket | null = null;
  try {
    const port = await new Promise<number>((resolve, reject) => {
      echo.once('message', (m) => resolve((m as { port: number }).port));
      echo.once('error', reject);
    });
    const ps = new PsClient({ shardUrls: cluster.urls, token: roleCredential(TOKEN, 'trainer'), tables: [tableSpec(spec)] });
    client = ps;
    await ps.connect();
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    bare = ws;
    ws.binaryType = 'arraybuffer';
    await new Promise((resolve, reject) => {
      ws.addEventListener('open', resolve, { once: true });
      ws.addEventListener('error', reject, { once: true });
    });
    const ids = Uint32Array.from({ length: COST_ROWS }, (_, i) => i * 97);
    const grads = Float32Array.from({ length: COST_ROWS * DIM }, (_, i) => Math.sin(i) / 2);
    const roundTrip = (out: Uint8Array) =>
      new Promise<void>((resolve) => {
        ws.addEventListener('message', () => resolve(), { once: true });
        ws.send(out);
      });
    /** A message of `bytes` asking for a reply of `replyBytes`. */
    const bareMessage = (bytes: number, replyBytes: number) => {
      const m = new Uint8Array(Math.max(bytes, 4));
      new DataView(m.buffer).setUint32(0, replyBytes, true);
      return m;
    };
    const idBytes = 4 * COST_ROWS;
    const rowBytes = 4 * COST_ROWS * DIM;
    const barePullMessage = bareMessage(idBytes, rowBytes);
    const barePushMessage = bareMessage(idBytes + rowBytes, 8);
    let step = 1;
    const ops = {
      pull: () => ps.pull('emb', ids),
      push: () => ps.push('emb', ids, grads, { lr: 0.01, step: step++ }),
      barePull: () => roundTrip(barePullMessage),
      barePush: () => roundTrip(barePushMessage),
    };
    const shardPid = cluster.processes[0].child.pid;
    const echoPid = echo.pid;
    if (shardPid === undefined || echoPid === undefined) throw new Error('request cost: a server process did not start');
    const serverPid = { pull: shardPid, push: shardPid, barePull: echoPid, barePush: echoPid };
    const samples: Record<keyof typeof ops, RequestCost[]> = { pull: [], push: [], barePull: [], barePush: [] };
    for (const op of Object.values(ops)) for (let i = 0; i < 500; i++) await op();
    for (let r = 0; r < REPEATS; r++) {
      for (const name of Object.keys(ops) as (keyof typeof ops)[]) {
        const pid = serverPid[name];
        const c0 = process.cpuUsage();
        const s0 = processCpuMs(pid);
        for (let i = 0; i < COST_REQUESTS; i++) await ops[name]();
        const c = process.cpuUsage(c0);
        samples[name].push({
          clientUs: (c.user + c.system) / COST_REQUESTS,
          serverUs: ((processCpuMs(pid) - s0) * 1000) / COST_REQUESTS,
        });
      }
    }
    const med = (list: RequestCost[]): RequestCost => ({
      clientUs: Math.round(median(list.map((x) => x.clientUs))),
      serverUs: Math.round(median(list.map((x) => x.serverUs))),
    });
    return {
      rows: COST_ROWS,
      pull: med(samples.pull),
      push: med(samples.push),
      barePull: med(samples.barePull),
      barePush: med(samples.barePush),
    };
  } finally {
    bare?.close();
    await client?.close();
    await cluster.stop();
    echo.kill();
  }
}

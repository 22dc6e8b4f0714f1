import { readFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { coordinatorProtocol, parsePsConfig } from '@rowshard/core';
import { exitWithParent, listeningRoleToken, RpcClient, roleCredential } from '@rowshard/transport';
import { ParameterServer } from './ps-server.js';

/**
 * A parameter-server process, standalone (`config`) or in a job (`coordinator`): listens,
 * registers under a stable name (hostname/address:port by default: a restarted container
 * with a fixed port keeps its shard), serves once configured, re-registers if the coordinator restarts, prints a JSON
 * `listening` line, and stops on SIGTERM/SIGINT or when its launcher goes away.
 */
export interface PsProcessOptions {
  readonly config?: string;
  readonly coordinator?: string;
  readonly shard?: number;
  readonly name?: string;
  readonly host: string;
  /** Address others dial: a host name, an IP, or 'auto' (this machine's first external IPv4). */
  readonly advertise?: string;
  readonly port: number;
  /** The only directory checkpoints are read from and written to (absent: none). */
  readonly checkpointRoot?: string;
  readonly maxPayloadBytes?: number;
}

export function externalIPv4(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

const fault = (reason: string) => process.stderr.write(`${JSON.stringify({ event: 'fault', reason })}\n`);
const warn = (reason: string) => process.stderr.write(`${JSON.stringify({ event: 'warning', reason })}\n`);

export async function runPsProcess(options: PsProcessOptions): Promise<ParameterServer> {
  if (!options.config === !options.coordinator) throw new Error('give exactly one of --config <file> or --coordinator <url>');
  // Refused before anything listens: beyond loopback only with a strong token.
  const { token, warning } = listeningRoleToken(process.env, 'parameter server', options.host);
  if (warning) warn(warning);
  const config = options.config ? parsePsConfig(readJson(options.config), options.config) : undefined;
  const ps = await ParameterServer.start({
    config,
    host: options.host,
    port: options.port,
    token,
    checkpointRoot: options.checkpointRoot,
    transport: options.maxPayloadBytes ? { maxPayloadBytes: options.maxPayloadBytes } : {},
    onFault: (conn, reason) => fault(`connection ${conn.connectionId}: ${reason}`),
  });
  const advertise = options.advertise === 'auto' ? externalIPv4() : options.advertise;
  const url = advertise ? `ws://${advertise}:${ps.port}` : ps.url;
  let shard = config?.shard ?? -1;
  if (options.coordinator) {
    const coordinator = new RpcClient({
      url: options.coordinator,
      token: token === null ? null : roleCredential(token, 'ps'),
      protocol: coordinatorProtocol,
      peerName: 'coordinator',
    });
    // Stable across restarts of the same container (fixed port), distinct per process on one
    // box and per network namespace (the advertised address differs).
    const name = options.name ?? `${hostname()}/${url.replace(/^ws:\/\//, '')}`;
    const register = async (asShard: number | null) => {
      const { config: assigned, storage } = await coordinator.request('register_ps', { url, shard: asShard, name });
      ps.configure(assigned);
      // Where the job takes checkpoints, prove this process sees the coordinator's directory.
      const proof = storage ? ps.proveSharedStorage(storage.dir) : undefined;
      await coordinator.request('ps_ready', { shard: assigned.shard, url, ...(proof ? { storage: proof } : {}) });
      return assigned.shard;
    };
    try {
      await coordinator.connect();
      shard = await register(options.shard ?? null);
    } catch (e) {
      // The coordinator unreachable, or a refusal (E_STORAGE_NOT_SHARED, no free shard):
      // nothing to serve; the process ends (exit 2) and a supervisor may start it again.
      await coordinator.close();
      await ps.close();
      throw e;
    }
    // A restarted coordinator, or one that dropped us during a partition, knows nothing of
    // this shard: register again (same shard) when the connection comes back.
    let registered = true;
    coordinator.on('disconnected', () => {
      registered = false;
    });
    coordinator.on('connected', () => {
      if (registered) return;
      registered = true;
      register(shard).catch((e: Error) => {
        registered = false;
        fault(`re-registering: ${e.message}`);
      });
    });
  }
  process.stdout.write(`${JSON.stringify({ event: 'listening', role: 'ps', pid: process.pid, shard, url })}\n`);
  const stop = () => {
    ps.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  exitWithParent(() => ps.close());
  return ps;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

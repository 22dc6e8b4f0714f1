import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { configError, isRole, type Role, roles } from '@rowshard/core';

/**
 * Authentication. The operator holds one secret, the cluster token (ROWSHARD_TOKEN). Nothing
 * sends it over the wire: each role presents its own credential, HMAC-SHA256(token, role),
 * written `<role>.<64 hex digits>`, and the servers (which hold the token) recompute the
 * credential of the role it names and compare. A process given only a role credential (a
 * trainer, a dashboard session) cannot compute any other role's: HMAC keys do not come back
 * out of their outputs. What each role may send is declared beside each protocol (`Senders`).
 */

/**
 * Compares a presented secret with the expected one. Both sides are hashed first so
 * timingSafeEqual compares equal lengths and the comparison time says nothing about the
 * secret's length or prefix.
 */
export function tokenMatches(given: string | null | undefined, expected: string): boolean {
  if (typeof given !== 'string') return false;
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The credential of `role` in the cluster whose token is `clusterToken`. */
export function roleCredential(clusterToken: string, role: Role): string {
  // The label keeps these MACs apart from any other use of the same token as a key.
  const mac = createHmac('sha256', clusterToken).update(`rowshard role credential v1: ${role}`).digest('hex');
  return `${role}.${mac}`;
}

const credentialShape = /^([a-z]+)\.[0-9a-f]{64}$/;

/** The role a string claims to be a credential of (unchecked), or null if it is not shaped like one. */
export function claimedRole(credential: string): Role | null {
  const m = credentialShape.exec(credential);
  return m && isRole(m[1]) ? m[1] : null;
}

/** The credentials of one cluster, for a server that holds its token. */
export class ClusterAuth {
  private readonly credentials: Readonly<Record<Role, string>>;

  constructor(private readonly clusterToken: string) {
    this.credentials = Object.fromEntries(roles.map((r) => [r, roleCredential(clusterToken, r)])) as Record<Role, string>;
  }

  credential(role: Role): string {
    return this.credentials[role];
  }

  /** The role a presented credential proves, or null (missing, malformed or wrong). */
  roleOf(given: string | null | undefined): Role | null {
    if (typeof given !== 'string') return null;
    const role = claimedRole(given);
    return role !== null && tokenMatches(given, this.credentials[role]) ? role : null;
  }

  /** The cluster token itself or any role's credential: what a person may type into the dashboard's login form. */
  accepts(given: string | null | undefined): boolean {
    const isToken = tokenMatches(given, this.clusterToken);
    return this.roleOf(given) !== null || isToken;
  }
}

export function bearerToken(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return null;
  const m = /^Bearer (.+)$/.exec(header);
  return m ? m[1] : null;
}

export function authHeaders(credential: string | null): Record<string, string> {
  return credential ? { authorization: `Bearer ${credential}` } : {};
}

/** Shorter tokens are refused where a port is reachable beyond loopback. */
export const minTokenBytes = 16;
/** The value deploy/rowshard.env.example ships, refused as a token beyond loopback. */
export const placeholderToken = 'change-me';

const makeToken = `node -e "console.log(require('crypto').randomBytes(24).toString('hex'))"`;

/** Why `token` is too weak to guard a port others can reach, or null. */
export function tokenWeakness(token: string): string | null {
  if (token === placeholderToken) return `is the placeholder '${placeholderToken}' from deploy/rowshard.env.example`;
  const bytes = Buffer.byteLength(token, 'utf8');
  if (bytes < minTokenBytes) return `is ${bytes} bytes long, shorter than the ${minTokenBytes} bytes required`;
  return null;
}

/** Whether a bind address is reachable only from this machine (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) {
    // The URL parser writes every spelling of an IPv6 address one way (0:0:0:0:0:0:0:1 → ::1).
    const canonical = new URL(`http://[${h}]/`).hostname;
    return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:/.test(canonical);
  }
  return false;
}

/**
 * The cluster token of a role that listens (the coordinator, a parameter server), from
 * ROWSHARD_TOKEN, judged by where it listens. Beyond loopback a missing token would let
 * anyone who reaches the port write checkpoints, load rows and restore the cluster, so it is
 * refused, and so is a guessable one (the placeholder, or under 16 bytes). On loopback only
 * local users can connect: either is allowed, with a warning for the log.
 */
export function listeningRoleToken(
  env: NodeJS.ProcessEnv,
  what: string,
  host: string,
): { token: string | null; warning: string | null } {
  const token = env.ROWSHARD_TOKEN === undefined || env.ROWSHARD_TOKEN === '' ? null : env.ROWSHARD_TOKEN;
  const exposed = !isLoopbackHost(host);
  const fix = `set ROWSHARD_TOKEN to a random secret of at least ${minTokenBytes} bytes (${makeToken})`;
  if (token === null) {
    if (exposed) {
      throw configError(
        'ROWSHARD_TOKEN',
        `is not set, and this ${what} listens on ${host}, beyond loopback: anyone who can reach it could write checkpoints, load rows and restore the cluster. Either ${fix}, or listen on 127.0.0.1`,
      );
    }
    return {
      token: null,
      warning: `ROWSHARD_TOKEN is not set: this ${what} on ${host} takes every local connection, unauthenticated, as any role; ${fix} where other users share this machine`,
    };
  }
  const weak = tokenWeakness(token);
  if (weak === null) return { token, warning: null };
  if (exposed) throw configError('ROWSHARD_TOKEN', `${weak}, and this ${what} listens on ${host}, beyond loopback: ${fix}`);
  return { token, warning: `ROWSHARD_TOKEN ${weak}: accepted only because this ${what} listens on loopback (${host})` };
}

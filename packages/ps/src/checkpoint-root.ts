import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ErrorCodes, RowshardError } from '@rowshard/core';

/**
 * The one directory a parameter server reads and writes checkpoints under, given to the
 * process (--checkpoint-root, ROWSHARD_CHECKPOINT_ROOT) rather than taken from the request:
 * a `checkpoint` or `restore` names its directory, and without a root of the host's own
 * choosing whoever holds the coordinator credential could write shard files anywhere the
 * process may write, or read any file as a snapshot.
 */
export class CheckpointRoot {
  readonly path: string;

  constructor(path: string) {
    this.path = resolve(path);
  }

  /**
   * `dir` as a real path, if it lies under the root (the root itself included); otherwise
   * E_FORBIDDEN naming both. `..` is resolved first and symbolic links along the existing part
   * of the path are followed, so neither can lead out of the root.
   */
  confine(dir: string, message: string): string {
    const root = realpathOfExisting(this.path);
    const target = realpathOfExisting(resolve(this.path, dir));
    const rel = relative(root, target);
    if (rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel))) return target;
    throw new RowshardError(
      ErrorCodes.FORBIDDEN,
      `${message}: directory '${dir}' is outside this parameter server's checkpoint root '${this.path}'; nothing was read or written`,
      { field: 'dir', dir, root: this.path },
    );
  }
}

/** A parameter server started without a root refuses every checkpoint directory. */
export function noCheckpointRoot(message: string, dir: string): RowshardError {
  return new RowshardError(
    ErrorCodes.FORBIDDEN,
    `${message}: this parameter server has no checkpoint root, so it reads and writes no checkpoint directory ('${dir}' was asked); start it with --checkpoint-root DIR (or ROWSHARD_CHECKPOINT_ROOT) naming the checkpoint directory it shares with the coordinator`,
    { field: 'dir', dir },
  );
}

/**
 * The real path of `p`: its longest existing prefix through realpath (which follows
 * symbolic links), the rest appended as written (it does not exist yet, so holds no links).
 */
function realpathOfExisting(p: string): string {
  let head = p;
  const rest: string[] = [];
  for (;;) {
    try {
      return join(realpathSync(head), ...rest);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e;
      const up = dirname(head);
      if (up === head) return p;
      rest.unshift(basename(head));
      head = up;
    }
  }
}

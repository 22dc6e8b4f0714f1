import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename } from 'node:path';

/**
 * Writes chunks to `<path>.tmp`, fsyncs, then renames over `path`: a reader (or a restart
 * after a crash) sees the whole file or none of it. Returns the size and sha256 that a
 * checkpoint manifest records. If anything fails (a full or read-only disk) the `.tmp` file
 * is removed and the error thrown as it came.
 */
export function writeFileDurably(path: string, chunks: Iterable<Uint8Array>): { file: string; bytes: number; sha256: string } {
  const tmp = `${path}.tmp`;
  const hash = createHash('sha256');
  let bytes = 0;
  const fd = openSync(tmp, 'w');
  try {
    try {
      for (const c of chunks) {
        hash.update(c);
        let off = 0;
        while (off < c.length) off += writeSync(fd, c, off, c.length - off);
        bytes += c.length;
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // The write's own error says more than a failed clean-up.
    }
    throw e;
  }
  return { file: basename(path), bytes, sha256: hash.digest('hex') };
}

/** The same for text. */
export function writeTextDurably(path: string, text: string): void {
  writeFileDurably(path, [Buffer.from(text, 'utf8')]);
}

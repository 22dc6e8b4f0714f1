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
  const hash = createHash('sha256');
  const bytes = writeChunks(path, chunks, (c) => hash.update(c));
  return { file: basename(path), bytes, sha256: hash.digest('hex') };
}

/**
 * The same write, whole or not at all, without the checksum: for files nothing records a
 * checksum of (a model file of 800 MB spends half a second in sha256). Returns the size.
 */
export function writeFileWhole(path: string, chunks: Iterable<Uint8Array>): number {
  return writeChunks(path, chunks, () => {});
}

function writeChunks(path: string, chunks: Iterable<Uint8Array>, onChunk: (c: Uint8Array) => void): number {
  const tmp = `${path}.tmp`;
  let bytes = 0;
  const fd = openSync(tmp, 'w');
  try {
    try {
      for (const c of chunks) {
        onChunk(c);
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
  return bytes;
}

/** The same for text. */
export function writeTextDurably(path: string, text: string): void {
  writeFileWhole(path, [Buffer.from(text, 'utf8')]);
}

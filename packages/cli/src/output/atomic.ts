import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';

/** Writes text to `<path>.tmp`, fsyncs and renames: the file is whole or absent. */
export function writeTextAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

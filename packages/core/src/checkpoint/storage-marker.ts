/**
 * Shared checkpoint storage is checked, not assumed. A checkpoint is written by every
 * parameter server (its shard file) and by the coordinator (the dense file, then the
 * manifest) into one directory, and read back by all of them on restore: they must all see
 * the same directory. At start the coordinator writes this marker, holding a random nonce,
 * into the job's checkpoint directory; each parameter server reads it under its own
 * checkpoint root and sends back what it read (`ps_ready.storage`). A PS that cannot read
 * it, or reads another nonce, is looking at another directory, and the job stops there,
 * before any checkpoint could be half in one place and half in another.
 */
export const STORAGE_MARKER_FILE = '.rowshard-storage';

/** What the marker file holds (JSON). */
export interface StorageMarker {
  readonly format: typeof STORAGE_MARKER_FORMAT;
  /** Random hex written by this coordinator at start; a PS proves it sees the file by sending it back. */
  readonly nonce: string;
  /** Who wrote it (hostname and pid), for a person reading the directory. */
  readonly writtenBy: string;
  readonly createdAt: string;
}

export const STORAGE_MARKER_FORMAT = 'rowshard-storage-marker/1';

/** The marker's nonce, or null when `text` is not a marker. */
export function storageMarkerNonce(text: string): string | null {
  try {
    const value = JSON.parse(text) as Partial<StorageMarker> | null;
    if (value?.format !== STORAGE_MARKER_FORMAT || typeof value.nonce !== 'string' || !/^[0-9a-f]{16,128}$/.test(value.nonce))
      return null;
    return value.nonce;
  } catch {
    return null;
  }
}

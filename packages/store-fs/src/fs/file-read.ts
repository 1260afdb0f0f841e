import type { FileHandle } from 'node:fs/promises';

/**
 * First read of a record file: fits every record with a payload up to ~3.9
 * KiB, and stays under half of `Buffer.poolSize`, so the buffer is a slice of
 * Node's allocation pool rather than a fresh off-heap allocation.
 */
const FIRST_READ = 4095;

/**
 * The whole content of an open file, or `undefined` when it is larger than
 * `limit` bytes. One `read` for a typical record; `fstat` only for larger
 * ones. The buffer is fresh and owned by the caller alone.
 */
export async function readBounded(handle: FileHandle, limit: number): Promise<Buffer | undefined> {
  const first = Buffer.allocUnsafe(Math.min(FIRST_READ, limit + 1));
  const { bytesRead } = await handle.read(first, 0, first.length, 0);
  if (bytesRead < first.length) return first.subarray(0, bytesRead);
  const { size } = await handle.stat();
  if (size > limit) return undefined;
  // Read up to one byte past the size seen, so a file growing meanwhile shows as too long.
  const all = Buffer.allocUnsafe(Math.max(size, bytesRead) + 1);
  first.copy(all, 0, 0, bytesRead);
  let filled = bytesRead;
  while (filled < all.length) {
    const got = (await handle.read(all, filled, all.length - filled, filled)).bytesRead;
    if (got === 0) break;
    filled += got;
  }
  return filled > limit ? undefined : all.subarray(0, filled);
}

/** fsync an open directory, then close it (closed even when the fsync fails). */
export async function syncAndClose(handle: FileHandle): Promise<void> {
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

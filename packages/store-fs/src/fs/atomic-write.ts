import { randomBytes } from 'node:crypto';
import { basename, dirname, join, sep } from 'node:path';
import type { FileHandle } from 'node:fs/promises';
import type { Io } from './io';
import { TEMP_SUFFIX } from './layout';

/** Mode of every file the store creates: owner read/write only (SEC-28). */
export const FILE_MODE = 0o600;
/** Mode of every directory the store creates: owner only (SEC-28). */
export const DIR_MODE = 0o700;

/**
 * Replace `path` with `bytes` so that a crash at any instant leaves either the
 * old file or the new one, never a mix: write a temp file in the same
 * directory, (fsync it), rename it over the target, (fsync the directory so
 * the rename itself survives power loss). On failure the temp file is removed
 * and the previous file is untouched. `openModeExact`: the umask is known to
 * keep mode 0600 intact (see `prepareRoot`), so no `fchmod` is needed.
 */
export async function writeFileAtomic(
  io: Io,
  dir: string,
  path: string,
  bytes: Uint8Array,
  durable: boolean,
  openModeExact = false,
): Promise<void> {
  const temp = await prepareTemp(io, dir, path, bytes, durable, openModeExact);
  await commitTemp(io, temp, durable);
}

/** A temp file written (and fsynced) next to its target, not yet renamed over it. */
export interface TempFile {
  readonly dir: string;
  readonly temp: string;
  readonly path: string;
}

/**
 * The first half of {@link writeFileAtomic}: the temp file, complete and (when
 * durable) fsynced. Nothing a reader sees has changed. Removed on failure.
 */
export async function prepareTemp(
  io: Io,
  dir: string,
  path: string,
  bytes: Uint8Array,
  durable: boolean,
  openModeExact = false,
): Promise<TempFile> {
  const temp = join(dir, `.${basename(path)}.${tempTag()}${TEMP_SUFFIX}`);
  let handle: FileHandle | undefined;
  try {
    handle = await io.open(temp, 'wx', FILE_MODE);
    // The open mode is filtered by the umask; set it explicitly unless known exact.
    if (!openModeExact) await handle.chmod(FILE_MODE);
    await handle.writeFile(bytes);
    if (durable) await handle.sync();
    await handle.close();
  } catch (err) {
    // A failed open made no file (a missing directory, the common case, is made by the caller).
    if (handle !== undefined) {
      await handle.close().catch(() => undefined);
      await io.unlink(temp).catch(() => undefined);
    }
    throw err;
  }
  return { dir, temp, path };
}

/**
 * The second half of {@link writeFileAtomic}: rename the temp file over its
 * target (the atomic step), then fsync the directory when durable. The temp
 * file is removed if the rename fails.
 */
export async function commitTemp(io: Io, file: TempFile, durable: boolean): Promise<void> {
  try {
    await io.rename(file.temp, file.path);
  } catch (err) {
    await discardTemp(io, file);
    throw err;
  }
  if (durable) await syncDir(io, file.dir);
}

/** Remove a prepared temp file that will not be committed. Never throws. */
export async function discardTemp(io: Io, file: TempFile): Promise<void> {
  await io.unlink(file.temp).catch(() => undefined);
}

/** This process's random tag: temp names need uniqueness, not a random draw per write. */
const PROCESS_TAG = randomBytes(6).toString('hex');
let tempCounter = 0;

/** A hex tag unique to this write among all processes (the `wx` open catches any clash). */
function tempTag(): string {
  tempCounter = (tempCounter + 1) % Number.MAX_SAFE_INTEGER;
  return PROCESS_TAG + tempCounter.toString(16);
}

/** fsync a directory so entries created, renamed or removed in it are durable. */
export async function syncDir(io: Io, dir: string): Promise<void> {
  const handle = await io.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Create `dir` and its missing parents below `base`, each with mode 0700
 * (set explicitly unless `modeExact`: the umask is known to keep 0700
 * intact, see `prepareRoot`). Never creates `base` itself: a store whose
 * directory vanished (deleted, unmounted) must fail, not start over in an
 * empty directory.
 * @returns the directories this call created, topmost first.
 */
export async function ensureDir(
  io: Io,
  dir: string,
  base: string,
  modeExact = false,
): Promise<string[]> {
  try {
    await io.mkdir(dir, { mode: DIR_MODE });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'EEXIST') return [];
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === base || !parent.startsWith(base + sep)) throw err;
    const created = await ensureDir(io, parent, base, modeExact);
    return [...created, ...(await ensureDir(io, dir, base, modeExact))];
  }
  if (!modeExact) await io.chmod(dir, DIR_MODE);
  return [dir];
}

import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigInvalid } from '@cloakroom/core';
import { DIR_MODE } from './atomic-write';
import { TEMP_SUFFIX } from './layout';

/**
 * Create (mode 0700) or check the root and the given subdirectories, and
 * refuse unsafe ones (SEC-28): not a directory, group- or world-writable,
 * owned by another user, or on a case-insensitive file system (ids differ by
 * case only). Runs once, synchronously, when the store is created.
 * @returns the absolute root path, and whether files created with mode 0600
 * and directories with mode 0700 come out so under the current umask (then
 * the store skips the `fchmod` after each file it creates and the `chmod`
 * after each directory: a umask only ever removes permission bits, so what
 * it creates owner-only can never be more open than that).
 * @throws ConfigInvalid with a message naming the path and the fix.
 */
export function prepareRoot(dir: string, subdirs: readonly string[]): PreparedRoot {
  try {
    return prepare(resolve(dir), subdirs);
  } catch (err) {
    if (err instanceof ConfigInvalid) throw err;
    const code = (err as { code?: unknown }).code;
    throw new ConfigInvalid(`fs store: cannot use ${resolve(dir)} (${String(code ?? err)})`, {
      cause: err,
    });
  }
}

/** What {@link prepareRoot} found. */
export interface PreparedRoot {
  readonly root: string;
  /**
   * `open(path, 'wx', 0o600)` yields mode 0600 and `mkdir(path, 0o700)` mode
   * 0700 exactly (the umask keeps the owner's bits).
   */
  readonly openModeExact: boolean;
}

function prepare(root: string, subdirs: readonly string[]): PreparedRoot {
  for (const path of [root, ...subdirs.map((s) => join(root, s))]) {
    let created: string | undefined;
    try {
      created = mkdirSync(path, { recursive: true, mode: DIR_MODE });
    } catch (err) {
      throw new ConfigInvalid(`fs store: cannot create directory ${path}`, { cause: err });
    }
    // mkdir's mode is filtered by the umask: set it explicitly on what we created.
    if (created !== undefined) chmodCreated(created, path);
    checkSafe(path);
  }
  return { root, openModeExact: probeFiles(root) };
}

function chmodCreated(first: string, last: string): void {
  // `first` is the topmost directory mkdir created; chmod it and each one below.
  let path = first;
  chmodSync(path, DIR_MODE);
  for (const part of last.slice(first.length).split(/[\\/]/).filter(Boolean)) {
    path = join(path, part);
    chmodSync(path, DIR_MODE);
  }
}

function checkSafe(path: string): void {
  const st = statSync(path);
  if (!st.isDirectory()) throw new ConfigInvalid(`fs store: ${path} is not a directory`);
  // Windows reports synthetic POSIX modes; access there is governed by ACLs the operator sets.
  if (process.platform === 'win32') return;
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new ConfigInvalid(
      `fs store: ${path} is owned by uid ${st.uid}, not by this process (uid ${uid}); ` +
        'the store only uses a directory its own user owns',
    );
  }
  if ((st.mode & 0o022) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    throw new ConfigInvalid(
      `fs store: ${path} is group- or world-writable (mode ${mode}); run \`chmod 700 ${path}\``,
    );
  }
}

/**
 * One probe file answers two questions: is the file system case-sensitive
 * (throws `ConfigInvalid` when not), and does the umask keep every owner bit
 * (the return value)? The probe is created 0700 and must come out 0700: then
 * files created 0600 and directories created 0700 come out exactly so.
 */
function probeFiles(root: string): boolean {
  const tag = randomBytes(6).toString('hex');
  // Named like a temp file, so one left by a crash right here is swept.
  const probe = join(root, `.case-probe-${tag}-Aa${TEMP_SUFFIX}`);
  writeFileSync(probe, '', { mode: DIR_MODE, flag: 'wx' });
  try {
    const exact = (statSync(probe).mode & 0o777) === DIR_MODE;
    if (existsSync(join(root, `.case-probe-${tag}-aA${TEMP_SUFFIX}`))) {
      throw new ConfigInvalid(
        `fs store: ${root} is on a case-insensitive file system; session ids differ by case, use a case-sensitive one`,
      );
    }
    return exact;
  } finally {
    unlinkSync(probe);
  }
}

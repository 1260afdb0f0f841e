import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { ConfigInvalid } from '@cloakroom/core';
import { errnoOf, isMissing } from '../errors';
import { FILE_MODE } from './atomic-write';
import { TEMP_SUFFIX } from './layout';

const KEY_FILE = 'cursor.key';
const KEY_BYTES = 32;

/**
 * The directory's scan-cursor key, created on first use. It only
 * authenticates scan cursors (a leaked key lets someone make a cursor that
 * starts a scan at a chosen id, nothing more), and every process sharing the
 * directory reads the same one. Two processes starting at once cannot end up
 * with different keys: each writes its candidate whole under a temp name and
 * `link`s it into place, which fails with EEXIST for all but the first.
 * @throws ConfigInvalid when the key file cannot be read or created, or is corrupt.
 */
export function loadCursorKey(root: string): Uint8Array {
  const path = join(root, KEY_FILE);
  try {
    return readKey(path) ?? createKey(root, path);
  } catch (err) {
    if (err instanceof ConfigInvalid) throw err;
    throw new ConfigInvalid(`fs store: cannot use ${path} (${errnoOf(err) ?? String(err)})`, {
      cause: err,
    });
  }
}

function readKey(path: string): Uint8Array | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
  if (bytes.byteLength !== KEY_BYTES) {
    throw new ConfigInvalid(
      `fs store: ${path} is corrupt; delete it (scan cursors issued so far stop working)`,
    );
  }
  return new Uint8Array(bytes);
}

function createKey(root: string, path: string): Uint8Array {
  const temp = join(root, `.${KEY_FILE}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
  const fd = openSync(temp, 'wx', FILE_MODE);
  try {
    try {
      fchmodSync(fd, FILE_MODE);
      writeSync(fd, randomBytes(KEY_BYTES));
      // Once, at creation: a key lost to a power cut would void every cursor handed out.
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temp, path);
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw err;
    }
  } finally {
    unlinkSync(temp);
  }
  // Windows cannot open a directory to fsync it (nor does it need to: NTFS journals the entry).
  if (process.platform !== 'win32') {
    const dir = openSync(root, 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }
  const key = readKey(path);
  if (key === undefined) throw new ConfigInvalid(`fs store: ${path} vanished while being created`);
  return key;
}

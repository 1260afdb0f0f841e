import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SessionRecord } from '@cloakroom/core';
import { afterEach } from 'vitest';

const dirs: string[] = [];

/** A fresh private temp directory, removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cloakroom-fs-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A settable clock: tests move time explicitly instead of sleeping. */
export interface FakeClock {
  (): number;
  now: number;
}

export function fakeClock(start = 1_700_000_000_000): FakeClock {
  const clock = (() => clock.now) as FakeClock;
  clock.now = start;
  return clock;
}

/** A random id / subject index of the real shape (43 base64url characters). */
export function key(): string {
  return randomBytes(32).toString('base64url');
}

/** A deterministic key from a label, for tests that must agree across processes. */
export function keyOf(label: string): string {
  return createHash('sha256').update(label).digest('base64url');
}

export function rec(
  clock: FakeClock,
  overrides: Partial<SessionRecord> & { ttl?: number } = {},
): SessionRecord {
  const { ttl = 60_000, ...rest } = overrides;
  return {
    id: key(),
    subject: key(),
    expiresAt: clock.now + ttl,
    version: 1,
    payload: new Uint8Array(randomBytes(24)),
    ...rest,
  };
}

/** Every file under `dir`, recursively (relative paths). */
export async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    // Locks are symbolic links (see file-lock.ts): list them with the files.
    if (entry.isFile() || entry.isSymbolicLink()) out.push(join(entry.parentPath, entry.name));
  }
  return out;
}

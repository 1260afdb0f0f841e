// `keys init-file`: a complete static keys file that the CLI and
// staticKeys() read as is (the file used to be assembled by hand).
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type StaticKeysOptions, staticKeys } from '@cloakroom/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allOutput, cli } from './run-helper';

describe('cloakroom keys init-file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cloakroom-cli-initfile-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('SEC-28 --out writes a 0600 file that staticKeys and `jwks --keys-file` load, printing no key', async () => {
    const file = join(dir, 'keys.json');
    const r = await cli(
      ['keys', 'init-file', '--alg', 'ES256', '--out', file, '--json'],
      {},
      {
        clock: () => Date.UTC(2026, 11, 3),
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const keys = JSON.parse(await readFile(file, 'utf8')) as StaticKeysOptions & {
      storage: { id: string; key: string }[];
      index: string;
      signing: { alg: string; privateKey: { d: string } }[];
    };
    expect(r.json()).toMatchObject({ file, alg: 'ES256', storageId: 'storage-2026-12-03' });
    const provider = staticKeys(keys);
    expect((await provider.signingKey()).kid).toBe(r.json<{ kid: string }>().kid);
    expect((await provider.storageKeys()).primary.id).toBe('storage-2026-12-03');
    for (const secret of [keys.index, keys.storage[0]?.key, keys.signing[0]?.privateKey.d]) {
      expect(secret).toBeTruthy();
      expect(allOutput(r)).not.toContain(secret);
    }
    // No store is needed to publish the JWKS of a keys file.
    const jwks = await cli(['jwks', '--keys-file', file], {});
    expect(jwks.code, jwks.stderr).toBe(0);
    expect(jwks.json<{ keys: { kid: string; d?: string }[] }>().keys).toEqual([
      expect.objectContaining({ kid: r.json<{ kid: string }>().kid, alg: 'ES256' }),
    ]);
    expect(jwks.stdout).not.toContain('"d"');
  });

  it('without --out prints the file itself; every run makes new keys', async () => {
    const a = await cli(['keys', 'init-file']);
    const b = await cli(['keys', 'init-file']);
    expect(a.code).toBe(0);
    const keys = a.json<StaticKeysOptions & { index: string }>();
    expect(Object.keys(keys)).toEqual(['signing', 'storage', 'index']);
    expect(() => staticKeys(keys)).not.toThrow();
    expect(keys.index).not.toBe(b.json<{ index: string }>().index);
  });

  it('never overwrites a file (exit 1, file untouched)', async () => {
    const file = join(dir, 'existing.json');
    await writeFile(file, 'precious\n', { mode: 0o600 });
    const r = await cli(['keys', 'init-file', '--out', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: refusing to overwrite an existing file ${file} (--out)\n`);
    expect(await readFile(file, 'utf8')).toBe('precious\n');
  });
});

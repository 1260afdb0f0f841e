import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { staticKeys } from '@cloakroom/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './run-helper';

describe('cloakroom keys generate', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cloakroom-cli-gen-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each(['EdDSA', 'ES256', 'PS256', 'RS256'] as const)(
    'SEC-20 prints a private %s JWK that staticKeys accepts',
    async (alg) => {
      const r = await cli(['keys', 'generate', '--alg', alg]);
      expect(r.code, r.stderr).toBe(0);
      const jwk = r.json<{ alg: string; kid: string; d: string; use: string }>();
      expect(jwk).toMatchObject({ alg, use: 'sig' });
      expect(jwk.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(typeof jwk.d).toBe('string');
      const keys = staticKeys({
        signing: [{ alg, privateKey: jwk as never }],
        storage: [{ key: new Uint8Array(32).map((_, i) => i + 1) }],
        index: new Uint8Array(32).map((_, i) => i + 100),
      });
      expect((await keys.signingKey()).kid).toBe(jwk.kid);
    },
    30_000,
  );

  it.each(['storage', 'index', 'master'])(
    'SEC-12 --kind %s prints 32 random bytes as base64url, different each time',
    async (kind) => {
      const a = await cli(['keys', 'generate', '--kind', kind]);
      const b = await cli(['keys', 'generate', '--kind', kind]);
      expect(a.code).toBe(0);
      expect(a.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
      expect(Buffer.from(a.stdout.trim(), 'base64url')).toHaveLength(32);
      expect(a.stdout).not.toBe(b.stdout);
    },
  );

  it('--json wraps the key with its kind (and kid and public JWK for signing)', async () => {
    const s = await cli(['keys', 'generate', '--json']);
    expect(Object.keys(s.json()).sort()).toEqual(['alg', 'kid', 'kind', 'privateJwk', 'publicJwk']);
    expect(s.json<{ publicJwk: Record<string, unknown> }>().publicJwk).not.toHaveProperty('d');
    const k = await cli(['keys', 'generate', '--kind', 'storage', '--json']);
    // `key`, as the keys file names it (it used to be `secret`).
    expect(Object.keys(k.json()).sort()).toEqual(['key', 'kind']);
    expect(k.json<{ kind: string; key: string }>()).toMatchObject({ kind: 'storage' });
    expect(k.json<{ key: string }>().key).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('SEC-28 --out writes the key with mode 0600 and prints only where it went', async () => {
    const file = join(dir, 'signing.jwk');
    const r = await cli(['keys', 'generate', '--out', file, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const written = JSON.parse(await readFile(file, 'utf8')) as { d: string; kid: string };
    expect(r.json()).toMatchObject({ kind: 'signing', file, kid: written.kid });
    expect(r.stdout).not.toContain(written.d);
    const secretFile = join(dir, 'storage.key');
    const s = await cli(['keys', 'generate', '--kind', 'storage', '--out', secretFile]);
    expect(s.code).toBe(0);
    expect((await stat(secretFile)).mode & 0o777).toBe(0o600);
    const secret = (await readFile(secretFile, 'utf8')).trim();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(s.stdout).not.toContain(secret);
  });

  it('--out refuses to overwrite an existing file (exit 1) and leaves it untouched', async () => {
    const file = join(dir, 'existing.key');
    await writeFile(file, 'precious\n', { mode: 0o600 });
    const r = await cli(['keys', 'generate', '--kind', 'master', '--out', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: refusing to overwrite an existing file ${file} (--out)\n`);
    expect(r.stdout).toBe('');
    expect(await readFile(file, 'utf8')).toBe('precious\n');
  });

  it('rejects HS256, unknown kinds and --alg with a secret kind (usage, exit 2)', async () => {
    for (const argv of [
      ['keys', 'generate', '--alg', 'HS256'],
      ['keys', 'generate', '--kind', 'hmac'],
      ['keys', 'generate', '--kind', 'storage', '--alg', 'ES256'],
      ['keys', 'generate', 'extra'],
    ]) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^error: /);
    }
  });
});

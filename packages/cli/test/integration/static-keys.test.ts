// Static keys from a JSON file (CLOAKROOM_KEYS_FILE / --keys-file) on the
// filesystem store: status, jwks, rewrap to the first storage key, and the
// failures of a bad keys file, none of which may print a key.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type StaticKeysOptions,
  createCloakroom,
  generateSecret,
  generateSigningKey,
  staticKeys,
} from '@cloakroom/core';
import { createFsStore } from '@cloakroom/store-fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allOutput, cli } from '../run-helper';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

describe('cloakroom with static keys from a keys file (file store)', () => {
  let dir: string;
  let storeDir: string;
  let keysFile: string;
  let options: StaticKeysOptions;
  const secrets: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cloakroom-cli-static-'));
    storeDir = join(dir, 'store');
    const signing = await generateSigningKey('ES256');
    const oldStorage = b64(generateSecret());
    const newStorage = b64(generateSecret());
    const index = b64(generateSecret());
    secrets.push(oldStorage, newStorage, index, String(signing.privateJwk.d));
    options = {
      signing: [{ alg: 'ES256', privateKey: signing.privateJwk }],
      storage: [
        { id: 'storage-2026-11-new', key: newStorage },
        { id: 'storage-2026-05-old', key: oldStorage },
      ],
      index,
    };
    keysFile = join(dir, 'keys.json');
    await writeFile(keysFile, JSON.stringify(options), { mode: 0o600 });
    // The application wrote its sessions while "old" was primary.
    const app = createCloakroom({
      store: createFsStore({ dir: storeDir }),
      keys: staticKeys({ ...options, storage: [options.storage[1]!, options.storage[0]!] }),
      issuer: 'https://issuer.test',
      audience: 'https://api.test',
    });
    for (let i = 0; i < 4; i++) await app.create(`user-${i}`);
    await app.close();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const env = () => ({
    CLOAKROOM_STORE_URL: pathToFileURL(storeDir).href,
    CLOAKROOM_KEYS_FILE: keysFile,
  });
  const noSecret = (text: string) => {
    for (const s of secrets) expect(text).not.toContain(s);
  };

  it('keys status shows key ids and states only', async () => {
    const r = await cli(['keys', 'status', '--json'], env());
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({
      type: 'static',
      storage: [
        { id: 'storage-2026-11-new', state: 'primary' },
        { id: 'storage-2026-05-old', state: 'retired' },
      ],
    });
    noSecret(allOutput(r));
  });

  it('jwks prints the public key only', async () => {
    const r = await cli(['jwks'], env());
    expect(r.code).toBe(0);
    expect(r.json<{ keys: { kty: string }[] }>().keys).toEqual([
      expect.objectContaining({ kty: 'EC', alg: 'ES256', use: 'sig' }),
    ]);
    noSecret(allOutput(r));
  });

  it('SEC-14 rewrap moves every record from the retired key to the first storage key', async () => {
    const before = (await cli(['stats', '--json'], env())).json<{ byKeyId: object }>();
    expect(before.byKeyId).toEqual({ 'storage-2026-05-old': 4 });
    const r = await cli(['rewrap'], env());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/rewrapped 4/);
    expect(r.stdout).toMatch(/storage-2026-11-new\s+4\s+primary/);
    const after = (await cli(['stats', '--json'], env())).json<{ byKeyId: object }>();
    expect(after.byKeyId).toEqual({ 'storage-2026-11-new': 4 });
  });

  it('rotating-only commands refuse static keys (exit 2) and point at the keys file', async () => {
    for (const argv of [
      ['keys', 'rotate'],
      ['keys', 'compromise', 'storage-2026-05-old'],
      ['keys', 'rotate-master'],
    ]) {
      const r = await cli(argv, { ...env(), CLOAKROOM_NEW_MASTER_KEY: b64(generateSecret()) });
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/static keys change by editing the keys file/);
    }
  });

  it('--keys-file works like the variable; giving a master key too is a usage error', async () => {
    const r = await cli(['keys', 'status', '--keys-file', keysFile], {
      CLOAKROOM_STORE_URL: env().CLOAKROOM_STORE_URL,
    });
    expect(r.code).toBe(0);
    const both = await cli(['keys', 'status'], {
      ...env(),
      CLOAKROOM_MASTER_KEY: b64(generateSecret()),
    });
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/give only one/);
  });

  it('a keys file that is not JSON fails without quoting it', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, `{ "index": "${secrets[2]}", oops }`, { mode: 0o600 });
    const r = await cli(['jwks', '--keys-file', bad], {
      CLOAKROOM_STORE_URL: env().CLOAKROOM_STORE_URL,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`error: the keys file ${bad} is not valid JSON\n`);
  });

  it('SEC-12 a keys file staticKeys rejects (reused key) fails naming the key position, not the key', async () => {
    const reused = join(dir, 'reused.json');
    await writeFile(reused, JSON.stringify({ ...options, index: options.storage[0]!.key }), {
      mode: 0o600,
    });
    const r = await cli(['jwks', '--keys-file', reused, '--debug'], {
      CLOAKROOM_STORE_URL: env().CLOAKROOM_STORE_URL,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error: storage key #1 is also the index key/);
    noSecret(allOutput(r));
  });

  it('warns when the keys file is readable by others; a missing file is one line', async () => {
    const open = join(dir, 'open.json');
    await writeFile(open, JSON.stringify(options));
    await chmod(open, 0o644);
    const r = await cli(['keys', 'status', '--keys-file', open], {
      CLOAKROOM_STORE_URL: env().CLOAKROOM_STORE_URL,
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/readable by other users/);
    const missing = await cli(['keys', 'status', '--keys-file', join(dir, 'nope.json')], {
      CLOAKROOM_STORE_URL: env().CLOAKROOM_STORE_URL,
    });
    expect(missing.code).toBe(1);
    // The message names the file it could not read.
    expect(missing.stderr).toBe(
      `error: cannot read the keys file ${join(dir, 'nope.json')} (ENOENT)\n`,
    );
  });

  it('master key from --master-key-file: a missing store directory is refused, keys init starts one, keys rotate rotates both kinds', async () => {
    const mk = join(dir, 'master.key');
    await writeFile(mk, `${b64(generateSecret())}\n`, { mode: 0o600 });
    const r = await cli(['keys', 'status', '--master-key-file', mk], {
      CLOAKROOM_STORE_URL: pathToFileURL(join(dir, 'typo')).href,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/file store directory \/.*\/typo does not exist/);
    const init = await cli(['keys', 'init', '--master-key-file', mk, '--json'], {
      CLOAKROOM_STORE_URL: pathToFileURL(join(dir, 'fresh')).href,
    });
    expect(init.code, init.stderr).toBe(0);
    expect(init.json<{ type: string }>().type).toBe('rotating');
    const both = await cli(['keys', 'rotate', '--master-key-file', mk, '--json'], {
      CLOAKROOM_STORE_URL: pathToFileURL(join(dir, 'fresh')).href,
    });
    expect(both.code, both.stderr).toBe(0);
    expect(both.json<{ rotated: { kind: string; state: string }[] }>().rotated).toEqual([
      expect.objectContaining({ kind: 'signing', state: 'pending' }),
      expect.objectContaining({ kind: 'storage', state: 'pending' }),
    ]);
  });
});

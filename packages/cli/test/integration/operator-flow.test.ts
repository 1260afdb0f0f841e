// The operator's day against each real backend: migrate, init, rotate,
// status, jwks, rewrap (also interrupted and resumed), stats, sweep,
// revoke-subject, compromise and rotate-master, with sessions created by an
// application sharing the same store and key set.
import { generateSecret, createCloakroom, rotatingKeys, type Cloakroom } from '@cloakroom/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allOutput, cli, resumeArgv } from '../run-helper';
import { type Backend, fileBackend, postgresBackend, redisBackend } from './backends';

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const MINUTE = 60_000;

describe.each([
  ['file', fileBackend],
  ['redis', redisBackend],
  ['postgres', postgresBackend],
] as const)('cloakroom CLI against the %s store', (_name, make) => {
  let backend: Backend;
  const master = b64(generateSecret());
  const newMaster = b64(generateSecret());
  const T0 = Date.now();
  let now = T0;
  const clock = () => now;
  const env = () => ({ CLOAKROOM_STORE_URL: backend.url, CLOAKROOM_MASTER_KEY: master });
  const run = (argv: string[], extraEnv: Record<string, string> = {}, signal?: AbortSignal) =>
    cli(argv, { ...env(), ...extraEnv }, { clock, ...(signal ? { signal } : {}) });
  const apps: Cloakroom[] = [];
  // The application side: its own manager over the same data and key set.
  const app = (masterKey = master): Cloakroom => {
    const { store, keySets } = backend.open();
    const m = createCloakroom({
      store,
      keys: rotatingKeys({ store: keySets, masterKey, clock }),
      issuer: 'https://issuer.test',
      audience: 'https://api.test',
      clock,
    });
    apps.push(m);
    return m;
  };
  const tickets: { subject: string; ticket: string }[] = [];

  beforeAll(async () => {
    backend = await make();
  });
  afterAll(async () => {
    for (const m of apps) await m.close();
    await backend?.teardown();
  });

  it('migrate creates the PostgreSQL tables once (other stores need none: usage error)', async () => {
    const r = await run(['migrate', '--json']);
    if (backend.name !== 'postgres') {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/migrate is for postgres/);
      return;
    }
    expect(r.code, r.stderr).toBe(0);
    expect(r.json<{ applied: unknown[] }>().applied.length).toBeGreaterThan(0);
    const again = await run(['migrate']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/nothing to apply/);
  });

  it('refuses to work on a key set that does not exist yet (no silent creation)', async () => {
    const r = await run(['keys', 'status']);
    expect(r.code).toBe(1);
    // The message names the store it looked in.
    expect(r.stderr).toMatch(
      /no key set "default" in (file store \/|redis 127\.0\.0\.1:6379|postgres 127\.0\.0\.1:5432\/test)/,
    );
  });

  it('keys init creates the key set: one primary signing and one primary storage key', async () => {
    const r = await run(['keys', 'init', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = r.json<{
      type: string;
      version: number;
      signing: { state: string }[];
      storage: { state: string }[];
    }>();
    expect(s.type).toBe('rotating');
    expect(s.signing.map((k) => k.state)).toEqual(['primary']);
    expect(s.storage.map((k) => k.state)).toEqual(['primary']);
    expect(allOutput(r)).not.toContain(master);
  });

  it('sessions created by the application land under the primary storage key (stats)', async () => {
    const m = app();
    for (const subject of ['alice', 'alice', 'alice', 'bob', 'bob']) {
      const { ticket } = await m.create(subject, { role: 'user' });
      tickets.push({ subject, ticket });
    }
    const status = (await run(['keys', 'status', '--json'])).json<{ storage: { id: string }[] }>();
    const r = await run(['stats', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const stats = r.json<{
      total: number;
      byKeyId: Record<string, number>;
      expiredNotSwept?: number;
    }>();
    expect(stats.total).toBe(5);
    expect(stats.byKeyId).toEqual({ [status.storage[0]!.id]: 5 });
    if (backend.name === 'redis') expect(stats.expiredNotSwept).toBeUndefined();
    else expect(stats.expiredNotSwept).toBe(0);
  });

  it('keys rotate signing publishes a pending key: status shows it, jwks carries both', async () => {
    const r = await run(['keys', 'rotate', 'signing', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const { rotated } = r.json<{ rotated: { id: string; state: string; kind: string }[] }>();
    expect(rotated).toHaveLength(1);
    expect(rotated[0]).toMatchObject({ kind: 'signing', state: 'pending' });
    const status = await run(['keys', 'status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`${rotated[0]!.id}\\s+pending`));
    const jwks = await run(['jwks']);
    expect(jwks.code).toBe(0);
    const kids = jwks.json<{ keys: { kid: string; d?: string }[] }>().keys.map((k) => k.kid);
    expect(kids).toHaveLength(2);
    expect(kids).toContain(rotated[0]!.id);
    expect(jwks.stdout).not.toMatch(/"d"\s*:/);
  });

  it('SEC-14 rewrap after a storage rotation: every record ends under the new primary and still resolves', async () => {
    const rotated = await run(['keys', 'rotate', 'storage', '--json']);
    expect(rotated.code, rotated.stderr).toBe(0);
    const newId = rotated.json<{ rotated: { id: string }[] }>().rotated[0]!.id;
    now = T0 + 10 * MINUTE; // past the storage key's publish window: it is primary now
    const r = await run(['rewrap', '--batch-size', '2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const report = r.json<{
      complete: boolean;
      rewrapped: number;
      primaryKeyId: string;
      byKeyId: Record<string, number>;
    }>();
    expect(report).toMatchObject({ complete: true, rewrapped: 5, primaryKeyId: newId });
    expect(report.byKeyId).toEqual({ [newId]: 5 });
    const stats = (await run(['stats', '--json'])).json<{ byKeyId: Record<string, number> }>();
    expect(stats.byKeyId).toEqual({ [newId]: 5 });
    const m = app();
    for (const { subject, ticket } of tickets) {
      expect((await m.resolve(ticket))?.subject).toBe(subject);
    }
  });

  it('SEC-14 rewrap interrupted between batches says so on stdout, counts the whole store, and prints a resume command that works', async () => {
    const before = (await run(['keys', 'status', '--json'])).json<{
      storage: { id: string; state: string }[];
    }>();
    const oldId = before.storage.find((k) => k.state === 'primary')!.id;
    const rotated = await run(['keys', 'rotate', 'storage', '--json']);
    const newId = rotated.json<{ rotated: { id: string }[] }>().rotated[0]!.id;
    now = T0 + 20 * MINUTE;
    const controller = new AbortController();
    const first = await cli(['rewrap', '--batch-size', '2'], env(), {
      clock,
      signal: controller.signal,
      // Ctrl-C as soon as the first batch is reported.
      stderr: (s) => {
        if (s.startsWith('rewrap: scanned')) controller.abort();
      },
    });
    expect(first.code, first.stderr).toBe(130);
    // stdout alone must not read as complete: it says so, and the per-key
    // table is the whole store (the old key still holds 3 of the 5).
    expect(first.stdout).toMatch(
      /^rewrap INTERRUPTED, not complete: about 3 of 5 records not yet scanned$/m,
    );
    expect(first.stdout).toMatch(/records per storage key in the whole store now, 5 in all/);
    expect(first.stdout).toMatch(new RegExp(`^  ${oldId}\\s+3$`, 'm'));
    expect(first.stdout).toMatch(new RegExp(`^  ${newId}\\s+2\\s+primary$`, 'm'));
    expect(first.stdout).toMatch(/do not disable them yet/);
    expect(first.stdout).not.toMatch(/can be disabled/);
    // The resume command keeps the run's flags.
    const argv = resumeArgv(first.stdout);
    expect(argv?.slice(0, 3)).toEqual(['rewrap', '--batch-size', '2']);
    expect(resumeArgv(first.stderr)).toEqual(argv);
    const second = await run([...(argv as string[]), '--json']);
    expect(second.code, second.stderr).toBe(0);
    const report = second.json<{
      complete: boolean;
      resumed: boolean;
      store: { byKeyId: Record<string, number> };
    }>();
    expect(report).toMatchObject({ complete: true, resumed: true });
    expect(report.store.byKeyId).toEqual({ [newId]: 5 });
    const stats = (await run(['stats', '--json'])).json<{ byKeyId: Record<string, number> }>();
    expect(stats.byKeyId).toEqual({ [newId]: 5 });
  });

  it('keys disable retires old storage keys once rewrap emptied them; it refuses the primary', async () => {
    const status = (await run(['keys', 'status', '--json'])).json<{
      storage: { id: string; state: string }[];
    }>();
    const primary = status.storage.find((k) => k.state === 'primary')!.id;
    const retired = status.storage.filter((k) => k.state === 'retired').map((k) => k.id);
    expect(retired).toHaveLength(2);
    for (const id of retired) {
      const r = await run(['keys', 'disable', id, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json<{ disabled: string }>().disabled).toBe(id);
    }
    const after = (await run(['keys', 'status', '--json'])).json<{
      storage: { id: string; state: string }[];
    }>();
    for (const id of retired)
      expect(after.storage.find((k) => k.id === id)?.state).toBe('disabled');
    const m = app();
    for (const { subject, ticket } of tickets)
      expect((await m.resolve(ticket))?.subject).toBe(subject);
    const refused = await run(['keys', 'disable', primary]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error: /);
    const unchanged = (await run(['keys', 'status', '--json'])).json<{
      storage: { id: string; state: string }[];
    }>();
    expect(unchanged.storage.find((k) => k.id === primary)?.state).toBe('primary');
  });

  it('rewrap on a terminal draws a progress bar on stderr', async () => {
    const r = await cli(['rewrap'], env(), { clock, stderrIsTTY: true });
    expect(r.code, r.stderr).toBe(0);
    // A total first, then redrawn in place: carriage return, erase line, the bar.
    expect(r.stderr).toContain('\r\u001b[Kcounting records: 5');
    expect(r.stderr).toContain('\r\u001b[K[');
    expect(r.stderr).toMatch(/\[#{10,40}\]\s+100%\s+5\/5\s+rewrapped 0\s+elapsed 0:\d\d/);
    expect(r.stdout).toMatch(/already current 5/);
  });

  it('sweep removes expired sessions in stores without native expiry (stats counts them first)', async () => {
    // An application whose clock is two hours behind creates a session that is already dead now.
    const past = () => now - 120 * MINUTE;
    const { store, keySets } = backend.open(past);
    const old = createCloakroom({
      store,
      keys: rotatingKeys({ store: keySets, masterKey: master, clock: past }),
      issuer: 'https://issuer.test',
      audience: 'https://api.test',
      clock: past,
    });
    apps.push(old);
    await old.create('carol');
    const before = (await run(['stats', '--json'])).json<{
      total: number;
      expiredNotSwept?: number;
    }>();
    expect(before.total).toBe(5);
    const r = await run(['sweep', '--json']);
    expect(r.code, r.stderr).toBe(0);
    if (backend.name === 'redis') {
      expect(before.expiredNotSwept).toBeUndefined();
      expect(r.json()).toEqual({ swept: 0 });
      return;
    }
    expect(before.expiredNotSwept).toBe(1);
    expect(r.json()).toEqual({ swept: 1 });
    // stats and sweep need the store only: no key configured at all.
    const storeOnly = { CLOAKROOM_STORE_URL: backend.url };
    const after = await cli(['stats', '--json'], storeOnly);
    expect(after.code, after.stderr).toBe(0);
    expect(after.json()).toMatchObject({ total: 5, expiredNotSwept: 0 });
    const again = await cli(['sweep', '--json'], storeOnly);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json()).toEqual({ swept: 0 });
  });

  it('SEC-07 revoke-subject ends every session of that subject only, without echoing it', async () => {
    const r = await run(['revoke-subject', 'alice']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('revoked 3 sessions\n');
    expect(allOutput(r)).not.toContain('alice');
    const m = app();
    for (const { subject, ticket } of tickets) {
      const resolved = await m.resolve(ticket);
      if (subject === 'alice') expect(resolved).toBeNull();
      else expect(resolved?.subject).toBe('bob');
    }
    const again = await run(['revoke-subject', 'alice', '--json']);
    expect(again.json()).toEqual({ revoked: 0 });
  });

  it('SEC-19 keys compromise disables the primary storage key at once: its sessions stop resolving', async () => {
    const before = (await run(['keys', 'status', '--json'])).json<{
      storage: { id: string; state: string }[];
    }>();
    const primary = before.storage.find((k) => k.state === 'primary')!.id;
    const r = await run(['keys', 'compromise', primary, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const after = r.json<{
      compromised: string;
      status: { storage: { id: string; state: string }[] };
    }>();
    expect(after.compromised).toBe(primary);
    expect(after.status.storage.find((k) => k.id === primary)?.state).toBe('disabled');
    expect(after.status.storage.filter((k) => k.state === 'primary')).toHaveLength(1);
    const m = app();
    for (const { subject, ticket } of tickets) {
      if (subject === 'bob') expect(await m.resolve(ticket)).toBeNull();
    }
    const stats = (await run(['stats', '--json'])).json<{ byKeyId: Record<string, number> }>();
    expect(stats.byKeyId).toEqual({ [primary]: 2 });
    const rewrap = (await run(['rewrap', '--json'])).json<{
      unreadable: number;
      rewrapped: number;
    }>();
    expect(rewrap).toMatchObject({ unreadable: 2, rewrapped: 0 });
  });

  it('keys compromise of an unknown id fails without changing anything', async () => {
    const r = await run(['keys', 'compromise', 'sk_doesnotexist']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no key with id sk_doesnotexist/);
  });

  it('SEC-15 keys rotate-master re-seals the key set: the old master key no longer opens it', async () => {
    const r = await run(['keys', 'rotate-master', '--json'], {
      CLOAKROOM_NEW_MASTER_KEY: newMaster,
    });
    expect(r.code, r.stderr).toBe(0);
    const out = r.json<{ previousMasterKeyId: string; status: { masterKeyId: string } }>();
    expect(out.status.masterKeyId).not.toBe(out.previousMasterKeyId);
    expect(allOutput(r)).not.toContain(master);
    expect(allOutput(r)).not.toContain(newMaster);
    const withOld = await run(['keys', 'status', '--debug']);
    expect(withOld.code).toBe(1);
    expect(withOld.stderr).toMatch(/master key/);
    expect(withOld.stderr).toMatch(/wrong master key\?/);
    expect(allOutput(withOld)).not.toContain(master);
    const withNew = await run(['keys', 'status', '--json'], { CLOAKROOM_MASTER_KEY: newMaster });
    expect(withNew.code, withNew.stderr).toBe(0);
    expect(withNew.json<{ masterKeyId: string }>().masterKeyId).toBe(out.status.masterKeyId);
  });

  it('a wrong master key is one clear line (exit 1) that never shows the key, in text and JSON', async () => {
    const wrong = b64(generateSecret());
    for (const extra of [[], ['--json']]) {
      const r = await run(['jwks', ...extra], { CLOAKROOM_MASTER_KEY: wrong });
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/master key/);
      expect(allOutput(r)).not.toContain(wrong);
      expect(allOutput(r)).not.toContain(newMaster);
    }
    const asJson = await run(['jwks', '--json'], { CLOAKROOM_MASTER_KEY: wrong });
    expect(JSON.parse(asJson.stderr)).toMatchObject({ error: { code: 'ERR_CONFIG_INVALID' } });
  });
});

// The app on each backend chosen by CLOAKROOM_STORE_URL (Redis, PostgreSQL,
// a file:// directory), run as a fleet of two instances sharing sessions and
// the rotating key set through that backend. Real servers; a suite that
// cannot reach its server fails.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type AppOptions, type RunningApp, startApp } from '@cloakroom/example-app';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { Device } from '../http-client';

const REDIS_URL = process.env.CLOAKROOM_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const POSTGRES_URL =
  process.env.CLOAKROOM_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PASSWORD = 'cloakroom-demo';
const suffix = randomBytes(4).toString('hex');

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

interface Backend {
  readonly name: string;
  readonly options: () => Promise<AppOptions>;
}

const backends: Backend[] = [
  {
    name: 'redis',
    options: async () => {
      const prefix = `cloakroom-example-test-${suffix}:`;
      cleanups.push(async () => {
        const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
        const keys: string[] = [];
        let cursor = '0';
        do {
          const [next, batch] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
          cursor = next;
          keys.push(...batch);
        } while (cursor !== '0');
        if (keys.length > 0) await client.del(...keys);
        await client.quit();
      });
      return { storeUrl: REDIS_URL, redisPrefix: prefix };
    },
  },
  {
    name: 'postgres',
    options: async () => {
      const schema = `example_app_${suffix}`;
      cleanups.push(async () => {
        const client = new pg.Client({ connectionString: POSTGRES_URL });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await client.end();
      });
      return { storeUrl: POSTGRES_URL, postgresSchema: schema };
    },
  },
  {
    name: 'file://',
    options: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'cloakroom-example-fileurl-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      return { storeUrl: pathToFileURL(join(dir, 'store')).href };
    },
  },
];

describe.each(backends)('example app on $name', ({ options }) => {
  const apps: RunningApp[] = [];
  afterAll(async () => {
    for (const app of apps) await app.close();
  });

  async function fleet(): Promise<[RunningApp, RunningApp]> {
    const shared = { ...(await options()), masterKey: randomBytes(32).toString('base64url') };
    for (let i = 0; i < 2; i++) {
      const dataDir = await mkdtemp(join(tmpdir(), 'cloakroom-example-int-'));
      cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
      apps.push(
        await startApp({ ...shared, dataDir, port: 0, publishAheadMs: 600, log: () => {} }),
      );
    }
    return apps as [RunningApp, RunningApp];
  }

  it('SEC-07 two instances share sessions and keys: sign in on one, revoke on the other, rotate and rewrap', async () => {
    const [one, two] = await fleet();
    expect(one.backend).toBe(two.backend);
    const on = (app: RunningApp, jar?: Map<string, string>) => {
      const d = new Device({ baseUrl: app.url, certPath: app.certPath as string });
      for (const [k, v] of jar ?? []) d.jar.set(k, v);
      return d;
    };
    const a = on(one);
    const b = on(two);
    expect((await a.post('/signin', { username: 'alice', password: PASSWORD })).status).toBe(303);
    expect((await b.post('/signin', { username: 'alice', password: PASSWORD })).status).toBe(303);
    // A's cookie is accepted by the other instance (same store, same key set).
    const aOnTwo = on(two, a.jar);
    expect((await aOnTwo.get('/sessions')).status).toBe(200);

    const page = await b.get('/sessions');
    expect(page.body.match(/data-session=/g)).toHaveLength(2);
    const other = /<tr class="session" data-session="([^"]+)"/.exec(page.body)?.[1] as string;
    const csrf = Device.csrfOf(page.body);
    expect((await b.post('/sessions/revoke', { session: other, csrf })).status).toBe(303);
    expect((await a.get('/sessions')).location).toBe('/signin');

    // Admin on instance one rotates and rewraps; instance two keeps serving B.
    const admin = on(one);
    await admin.post('/signin', { username: 'admin', password: PASSWORD });
    const enter = Device.csrfOf((await admin.get('/admin')).body);
    expect((await admin.post('/admin/enter', { csrf: enter, password: PASSWORD })).status).toBe(
      303,
    );
    const adminCsrf = Device.csrfOf((await admin.get('/admin')).body);
    expect((await admin.post('/admin/rotate', { csrf: adminCsrf, kind: 'storage' })).status).toBe(
      303,
    );
    expect((await admin.post('/admin/rewrap', { csrf: adminCsrf })).status).toBe(303);
    await one.runner.idle();
    const done = one.runner.current()?.events.find((e) => e.type === 'done');
    expect(done?.type === 'done' && done.allUnderPrimary).toBe(true);
    expect((await b.get('/sessions')).status).toBe(200);
    // Instance two, on its next key-set refresh, seals under the same new primary.
    const primaryOne = (await one.keys.refresh()).storage.find((k) => k.state === 'primary')?.id;
    const primaryTwo = (await two.keys.refresh()).storage.find((k) => k.state === 'primary')?.id;
    expect(primaryTwo).toBe(primaryOne);
  });
});

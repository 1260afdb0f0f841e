// The app's flows over real HTTPS without a browser: fast, and every status
// code and Set-Cookie header visible. The browser test (e2e.test.ts) repeats
// the main path in Chromium.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunningApp, startApp } from '@cloakroom/example-app';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Device } from './http-client';

const PASSWORD = 'cloakroom-demo';
const FIREFOX = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';
const SAFARI =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15';

let app: RunningApp;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'cloakroom-example-http-'));
  app = await startApp({
    dataDir,
    port: 0,
    masterKey: randomBytes(32).toString('base64url'),
    // Long enough that the rewrap, started right after a rotation, visibly waits for the new key.
    publishAheadMs: 2_000,
    log: () => {},
  });
});

afterAll(async () => {
  await app?.close();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

const device = (userAgent?: string) =>
  new Device({
    baseUrl: app.url,
    certPath: app.certPath as string,
    ...(userAgent === undefined ? {} : { userAgent }),
  });

async function signIn(d: Device, username: string) {
  const reply = await d.post('/signin', { username, password: PASSWORD });
  expect(reply.status).toBe(303);
  expect(reply.location).toBe('/sessions');
  return reply;
}

async function csrfOf(d: Device, path = '/sessions') {
  const page = await d.get(path);
  expect(page.status).toBe(200);
  return Device.csrfOf(page.body);
}

const ticketOf = (d: Device) => d.jar.get('__Host-cloakroom') as string;

describe('example app over HTTPS', () => {
  it('SEC-08 sign-in sets only a __Host- ticket cookie: Secure, HttpOnly, SameSite=Lax, Path=/, no Domain', async () => {
    const d = device();
    const reply = await signIn(d, 'alice');
    expect(reply.setCookies).toHaveLength(1);
    const cookie = reply.setCookies[0] as string;
    expect(cookie).toMatch(
      /^__Host-cloakroom=cr1_[A-Za-z0-9_-]+; Path=\/; Max-Age=\d+; Secure; HttpOnly; SameSite=Lax$/,
    );
    expect(cookie).not.toMatch(/Domain=/i);
    expect([...d.jar.keys()]).toEqual(['__Host-cloakroom']);
    // The ticket never travels in a URL or a page.
    expect(reply.location).not.toContain(ticketOf(d));
    const page = await d.get('/sessions');
    expect(page.body).not.toContain(ticketOf(d));
  });

  it('rejects a wrong password with 401 and no cookie', async () => {
    const d = device();
    const reply = await d.post('/signin', { username: 'alice', password: 'nope' });
    expect(reply.status).toBe(401);
    expect(reply.setCookies).toHaveLength(0);
    const unknown = await d.post('/signin', { username: 'mallory', password: PASSWORD });
    expect(unknown.status).toBe(401);
  });

  it('SEC-07 a second device sees both sessions, revokes the first, and the first is signed out', async () => {
    const a = device(FIREFOX);
    const b = device(SAFARI);
    await signIn(a, 'bob');
    await signIn(b, 'bob');
    const page = await b.get('/sessions');
    expect(page.status).toBe(200);
    const rows = page.body.match(/<tr class="session[^"]*" data-session="[^"]+"/g) ?? [];
    expect(rows).toHaveLength(2);
    expect(page.body).toContain('Firefox on Windows');
    expect(page.body).toContain('Safari on macOS');
    // The current session is marked, and it is B's.
    const current =
      /<tr class="session current" data-session="([^"]+)">\s*<td class="device">([^<]+)/.exec(
        page.body,
      );
    expect(current?.[2]?.trim()).toBe('Safari on macOS');
    const other = /<tr class="session" data-session="([^"]+)"/.exec(page.body)?.[1] as string;

    const revoked = await b.post('/sessions/revoke', {
      session: other,
      csrf: Device.csrfOf(page.body),
    });
    expect(revoked.status).toBe(303);
    expect(revoked.location).toBe('/sessions?notice=revoked');

    const aNext = await a.get('/sessions');
    expect(aNext.status).toBe(303);
    expect(aNext.location).toBe('/signin');
    expect(aNext.setCookies[0]).toMatch(/^__Host-cloakroom=; Path=\/; Max-Age=0;/);
    const bNext = await b.get('/sessions');
    expect(bNext.body.match(/data-session=/g)).toHaveLength(1);
  });

  it('SEC-07 "sign out all others" leaves only the current session', async () => {
    const devices = [device(FIREFOX), device(SAFARI), device()];
    for (const d of devices) await signIn(d, 'alice');
    const [keep, ...others] = devices as [Device, ...Device[]];
    const reply = await keep.post('/sessions/revoke-others', { csrf: await csrfOf(keep) });
    expect(reply.status).toBe(303);
    const page = await keep.get('/sessions');
    expect(page.body.match(/data-session=/g)).toHaveLength(1);
    expect(page.body).toContain('id="this-device"');
    for (const d of others) expect((await d.get('/sessions')).location).toBe('/signin');
  });

  it("CSRF: a POST without the token, with a wrong one, or with another session's token gets 403", async () => {
    const victim = device();
    const attacker = device();
    await signIn(victim, 'bob');
    await signIn(attacker, 'bob');
    const attackerToken = await csrfOf(attacker);
    for (const form of [{}, { csrf: '' }, { csrf: 'x'.repeat(43) }, { csrf: attackerToken }]) {
      const reply = await victim.post('/sessions/revoke-others', form);
      expect(reply.status).toBe(403);
    }
    expect((await victim.post('/signout', {})).status).toBe(403);
    // Nothing was revoked: both still signed in.
    expect((await victim.get('/sessions')).status).toBe(200);
    expect((await attacker.get('/sessions')).status).toBe(200);
  });

  it('refuses cross-site form posts by Origin and Sec-Fetch-Site, sign-in included (login CSRF)', async () => {
    const d = device();
    await signIn(d, 'bob');
    const csrf = await csrfOf(d);
    const evil = { origin: 'https://evil.example' };
    expect((await d.post('/sessions/revoke-others', { csrf }, evil)).status).toBe(403);
    expect(
      (await d.post('/sessions/revoke-others', { csrf }, { 'sec-fetch-site': 'cross-site' }))
        .status,
    ).toBe(403);
    // An opaque origin (sandboxed frame, data: URL) is not ours either.
    expect((await d.post('/sessions/revoke-others', { csrf }, { origin: 'null' })).status).toBe(
      403,
    );
    const fresh = device();
    const login = await fresh.post('/signin', { username: 'bob', password: PASSWORD }, evil);
    expect(login.status).toBe(403);
    expect(login.setCookies).toHaveLength(0);
  });

  it('SEC-26 a non-admin gets 403 from every admin endpoint, even with a valid CSRF token', async () => {
    const d = device();
    await signIn(d, 'alice');
    const csrf = await csrfOf(d);
    expect((await d.get('/admin')).status).toBe(403);
    expect((await d.post('/admin/enter', { csrf, password: PASSWORD })).status).toBe(403);
    expect((await d.post('/admin/rotate', { csrf, kind: 'storage' })).status).toBe(403);
    expect((await d.post('/admin/rewrap', { csrf })).status).toBe(403);
    expect((await d.get('/admin/rewrap/status')).status).toBe(403);
    expect((await d.get('/admin/rewrap/events')).status).toBe(403);
  });

  it('SEC-26 the admin user gets 403 from operator endpoints until entering admin mode', async () => {
    const d = device();
    await signIn(d, 'admin');
    const page = await d.get('/admin');
    expect(page.status).toBe(200);
    expect(page.body).toContain('Enter admin mode');
    const csrf = Device.csrfOf(page.body);
    expect((await d.post('/admin/rotate', { csrf, kind: 'signing' })).status).toBe(403);
    expect((await d.post('/admin/rewrap', { csrf })).status).toBe(403);
    const wrong = await d.post('/admin/enter', { csrf, password: 'nope' });
    expect(wrong.status).toBe(401);
  });

  it('SEC-06 signing in again and entering admin mode each issue a new ticket and kill the old one', async () => {
    const d = device();
    await signIn(d, 'admin');
    const first = ticketOf(d);
    await signIn(d, 'admin');
    const second = ticketOf(d);
    expect(second).not.toBe(first);
    const entered = await d.post('/admin/enter', { csrf: await csrfOf(d), password: PASSWORD });
    expect(entered.status).toBe(303);
    expect(entered.location).toBe('/admin');
    const third = ticketOf(d);
    expect(third).not.toBe(second);
    expect((await d.get('/admin')).body).toContain('id="rotate-storage"');
    // The older tickets no longer sign anyone in.
    expect(await app.cloakroom.resolve(first)).toBeNull();
    expect(await app.cloakroom.resolve(second)).toBeNull();
    expect(await app.cloakroom.resolve(third)).not.toBeNull();
  });

  it('SEC-14 admin rotates both keys and rewraps: progress, then every record under the new primary storage key', async () => {
    const d = device();
    await signIn(d, 'admin');
    await d.post('/admin/enter', { csrf: await csrfOf(d), password: PASSWORD });
    const before = await app.keys.status();
    const oldStorage = before.storage.find((k) => k.state === 'primary')?.id;
    const oldSigning = before.signing.find((k) => k.state === 'primary')?.id;
    let csrf = await csrfOf(d, '/admin');
    expect((await d.post('/admin/rotate', { csrf, kind: 'signing' })).status).toBe(303);
    expect((await d.post('/admin/rotate', { csrf, kind: 'storage' })).status).toBe(303);
    const rotated = await app.keys.status();
    const newStorage = rotated.storage.find((k) => k.state === 'pending')?.id;
    expect(newStorage).toBeDefined();
    expect(rotated.signing.find((k) => k.state === 'pending')).toBeDefined();

    csrf = await csrfOf(d, '/admin');
    expect((await d.post('/admin/rewrap', { csrf })).status).toBe(303);
    // The progress stream replays the job and ends with the report fragment.
    const stream = await d.get('/admin/rewrap/events');
    expect(stream.status).toBe(200);
    expect(stream.body).toContain('waiting for storage key');
    expect(stream.body).toMatch(/event: line\ndata: "[^"]*scanned \d+/);
    expect(stream.body).toContain('event: end');
    expect(stream.body).toContain('id=\\"verdict\\"');

    const status = await d.get('/admin/rewrap/status');
    const { job } = JSON.parse(status.body);
    expect(job.finished).toBe(true);
    const progress = job.events.filter((e: { type: string }) => e.type === 'progress');
    expect(progress.length).toBeGreaterThan(1); // batches of 2: the progress really is incremental
    const done = job.events.find((e: { type: string }) => e.type === 'done');
    expect(done.allUnderPrimary).toBe(true);
    expect(done.report.complete).toBe(true);
    expect(done.report.primaryKeyId).toBe(newStorage);
    expect(done.report.primaryKeyId).not.toBe(oldStorage);
    expect(Object.keys(done.report.byKeyId)).toEqual([newStorage]);
    expect(done.report.rewrapped).toBeGreaterThan(0);
    // The report is on the admin page too, and the new signing key took over.
    const page = await d.get('/admin');
    expect(page.body).toContain('id="verdict"');
    expect(page.body).toContain(
      `All ${done.report.scanned} records are under the primary storage key`,
    );
    // The signing key was rotated before the storage key the job waited for: primary by now.
    const after = await app.keys.status();
    expect(after.signing.find((k) => k.state === 'primary')?.id).not.toBe(oldSigning);
    // Sessions sealed before the rotation still work.
    expect((await d.get('/sessions')).status).toBe(200);
  });

  it('sign-out revokes the ticket and clears the cookie', async () => {
    const d = device();
    await signIn(d, 'bob');
    const ticket = ticketOf(d);
    const reply = await d.post('/signout', { csrf: await csrfOf(d) });
    expect(reply.status).toBe(303);
    expect(reply.location).toBe('/signin');
    expect(reply.setCookies[0]).toMatch(
      /^__Host-cloakroom=; Path=\/; Max-Age=0; Expires=Thu, 01 Jan 1970/,
    );
    expect(await app.cloakroom.resolve(ticket)).toBeNull();
  });

  it('SEC-02 the data directory holds no ticket, username or token', async () => {
    const d = device();
    await signIn(d, 'alice');
    const ticket = ticketOf(d);
    const files: string[] = [];
    const walk = async (dir: string) => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else files.push(p);
      }
    };
    await walk(join(dataDir, 'sessions'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const text = (await readFile(f)).toString('latin1');
      expect(text).not.toContain(ticket.slice(4));
      expect(text).not.toContain('alice');
      expect(text).not.toContain('eyJ');
    }
  });
});

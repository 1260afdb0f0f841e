// Start-up configuration, the CSRF guard and device labels: no browser, no network beyond loopback.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCsrfGuard, deviceLabel, startApp } from '@cloakroom/example-app';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const sessionId = fc.stringMatching(/^[A-Za-z0-9_-]{43}$/);

describe('start-up configuration', () => {
  it('demo mode: a generated master key is announced, and a fresh 0700 data dir is removed on close', async () => {
    const lines: string[] = [];
    const app = await startApp({ port: 0, log: (l) => lines.push(l) });
    try {
      expect(lines.join('\n')).toMatch(/WARNING demo mode: CLOAKROOM_MASTER_KEY is not set/);
      // The generated key itself is never printed.
      expect(lines.join('\n')).not.toMatch(/[A-Za-z0-9_-]{43}/);
      expect(app.dataDir.startsWith(tmpdir())).toBe(true);
      expect((await stat(app.dataDir)).mode & 0o777).toBe(0o700);
      expect((await stat(join(app.dataDir, 'tls'))).mode & 0o777).toBe(0o700);
      expect((await stat(join(app.dataDir, 'tls', 'key.pem'))).mode & 0o777).toBe(0o600);
      expect(app.backend).toBe('filesystem');
      expect(app.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    } finally {
      await app.close();
    }
    await expect(stat(app.dataDir)).rejects.toThrow(/ENOENT/);
  });

  it('with CLOAKROOM_MASTER_KEY set nothing about keys is printed', async () => {
    const lines: string[] = [];
    const dataDir = await mkdtemp(join(tmpdir(), 'cloakroom-example-cfg-'));
    const app = await startApp({
      port: 0,
      dataDir,
      masterKey: randomBytes(32).toString('base64url'),
      log: (l) => lines.push(l),
    });
    await app.close();
    expect(lines).toEqual([]);
    // A directory the caller gave is the caller's: kept.
    expect((await stat(dataDir)).isDirectory()).toBe(true);
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses a master key that is not 32 bytes of base64url, without echoing it', async () => {
    for (const bad of [
      'short',
      randomBytes(31).toString('base64url'),
      `${randomBytes(32).toString('base64url')}=`,
    ]) {
      const error = await startApp({ port: 0, masterKey: bad, log: () => {} }).catch((e) => e);
      expect(error.code).toBe('ERR_CONFIG_INVALID');
      expect(error.message).not.toContain(bad);
    }
  });

  it('refuses an unknown store URL scheme without echoing the URL (it may hold a password)', async () => {
    const url = 'mysql://root:hunter2@127.0.0.1/db';
    const error = await startApp({
      port: 0,
      storeUrl: url,
      masterKey: randomBytes(32).toString('base64url'),
      log: () => {},
    }).catch((e) => e);
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).not.toContain('hunter2');
  });

  it('CLOAKROOM_INSECURE_DEV: plain http with a non-prefixed, non-Secure cookie, still HttpOnly and Lax', async () => {
    const app = await startApp({
      port: 0,
      insecureDev: true,
      masterKey: randomBytes(32).toString('base64url'),
      log: () => {},
    });
    try {
      expect(app.url).toMatch(/^http:\/\//);
      expect(app.cookieName).toBe('cloakroom-dev');
      const reply = await fetch(new URL('/signin', app.url), {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'username=alice&password=cloakroom-demo',
        signal: AbortSignal.timeout(10_000),
      });
      expect(reply.status).toBe(303);
      const cookie = reply.headers.get('set-cookie') ?? '';
      expect(cookie).toMatch(
        /^cloakroom-dev=cr1_[^;]+; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Lax$/,
      );
      expect(cookie).not.toMatch(/Secure/);
    } finally {
      await app.close();
    }
  });
});

describe('CSRF guard', () => {
  const key = randomBytes(32);

  it("SEC-04 a session's token verifies; another session's token, or another key's, never does", () => {
    const guard = createCsrfGuard(key);
    const other = createCsrfGuard(randomBytes(32));
    fc.assert(
      fc.property(sessionId, sessionId, (a, b) => {
        expect(guard.check(a, guard.tokenFor(a))).toBe(true);
        expect(guard.tokenFor(a)).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(guard.check(a, other.tokenFor(a))).toBe(false);
        if (a !== b) expect(guard.check(a, guard.tokenFor(b))).toBe(false);
      }),
    );
  });

  it('SEC-04 any other input is false, never a throw', () => {
    const guard = createCsrfGuard(key);
    fc.assert(
      fc.property(sessionId, fc.anything(), (id, junk) => {
        expect(guard.check(id, junk)).toBe(junk === guard.tokenFor(id));
      }),
    );
  });

  it('the token is not the session id nor derived from it without the key', () => {
    const id = 'A'.repeat(43);
    const t1 = createCsrfGuard(key).tokenFor(id);
    expect(t1).not.toContain(id);
    expect(createCsrfGuard(key).tokenFor(id)).toBe(t1); // stable across instances sharing the key
  });
});

describe('device labels', () => {
  it.each([
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
      'Firefox on Windows',
    ],
    [
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
      'Safari on macOS',
    ],
    [
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36',
      'Headless Chrome on Linux',
    ],
    [
      'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36',
      'Chrome on Android',
    ],
    [
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
      'Safari on iOS',
    ],
    [
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0',
      'Edge on Windows',
    ],
    ['curl/8.5.0', 'curl'],
    ['', 'Unknown device'],
    [undefined, 'Unknown device'],
    ['<script>alert(1)</script>', 'Unknown device'],
  ])('%s → %s', (ua, label) => {
    expect(deviceLabel(ua)).toBe(label);
  });

  it('labels are short and come from a fixed vocabulary, whatever the header', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2000 }), (ua) => {
        const label = deviceLabel(ua);
        expect(label.length).toBeLessThanOrEqual(40);
        expect(label).toMatch(/^[A-Za-z ]+$/);
      }),
    );
  });
});

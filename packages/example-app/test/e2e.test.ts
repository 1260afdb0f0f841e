// End to end in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core): the real browser, the real __Host- cookie over HTTPS.
// Screenshots go to packages/example-app/test-results/ (git-ignored).
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type RunningApp, startApp } from '@cloakroom/example-app';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PASSWORD = 'cloakroom-demo';
const ARTIFACTS = fileURLToPath(new URL('../test-results/', import.meta.url));
const WINDOWS_UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';
const MAC_UA =
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';

let app: RunningApp;
let dataDir: string;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  dataDir = await mkdtemp(join(tmpdir(), 'cloakroom-example-e2e-'));
  app = await startApp({
    dataDir,
    port: 0,
    masterKey: randomBytes(32).toString('base64url'),
    // Long enough that the rewrap, started right after a rotation, visibly waits for the new key.
    publishAheadMs: 3_000,
    log: () => {},
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    timeout: 30_000,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // The app's certificate is self-signed, made at start-up.
      '--ignore-certificate-errors',
    ],
  });
}, 60_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await app?.close();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

async function newDevice(userAgent?: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    ...(userAgent === undefined ? {} : { userAgent }),
  });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.setDefaultNavigationTimeout(10_000);
  return { context, page };
}

async function signIn(page: Page, username: string): Promise<void> {
  await page.goto(app.url);
  expect(new URL(page.url()).pathname).toBe('/signin');
  await page.fill('#username', username);
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL('**/sessions'), page.click('#submit')]);
  expect(await page.textContent('#who')).toBe(username);
}

const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

/** POST a form from inside the page (same origin, the browser's own cookie), returning the status. */
function postFromPage(page: Page, path: string, fields: Record<string, string>): Promise<number> {
  return page.evaluate(
    `fetch(${JSON.stringify(path)}, { method: 'POST', redirect: 'manual', body: new URLSearchParams(${JSON.stringify(fields)}) }).then((r) => r.status)`,
  ) as Promise<number>;
}

const pageCsrf = (page: Page) =>
  page.getAttribute('input[name="csrf"]', 'value') as Promise<string>;

describe('example app in headless Chromium', { timeout: 60_000 }, () => {
  it('SEC-07 SEC-08 alice signs in on two devices; the second revokes the first, which is signed out', async () => {
    const a = await newDevice(WINDOWS_UA);
    const b = await newDevice(MAC_UA);

    await signIn(a.page, 'alice');
    await shot(a.page, '01-device-a-signed-in');

    // The ticket cookie is invisible to page scripts, and has the strict attributes.
    expect(await a.page.evaluate('document.cookie')).toBe('');
    const cookies = await a.context.cookies();
    expect(cookies).toHaveLength(1);
    const [cookie] = cookies;
    expect(cookie?.name).toBe('__Host-cloakroom');
    expect(cookie?.name.startsWith('__Host-')).toBe(true);
    expect(cookie?.value).toMatch(/^cr1_/);
    expect(cookie?.httpOnly).toBe(true);
    expect(cookie?.secure).toBe(true);
    expect(cookie?.sameSite).toBe('Lax');
    expect(cookie?.path).toBe('/');
    // Host-only: the domain is the exact host, not a ".domain" that subdomains would share.
    expect(cookie?.domain).toBe(new URL(app.url).hostname);
    expect(a.page.url()).not.toContain(cookie?.value as string);

    await signIn(b.page, 'alice');
    const rows = b.page.locator('#sessions tbody tr.session');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await b.page.textContent('tr.session.current .device')).toContain('Chrome on macOS');
    expect(await b.page.textContent('tr.session:not(.current) .device')).toContain(
      'Chrome on Windows',
    );
    await shot(b.page, '02-device-b-sees-two-sessions');

    await Promise.all([
      b.page.waitForURL('**/sessions?notice=revoked'),
      b.page.click('tr.session:not(.current) button.revoke'),
    ]);
    expect(await rows.count()).toBe(1);
    expect(await b.page.textContent('#notice')).toContain('signed out');
    await shot(b.page, '03-device-b-revoked-a');

    // A's next navigation lands on sign-in, and its dead cookie is cleared.
    await a.page.goto(new URL('/sessions', app.url).href);
    expect(new URL(a.page.url()).pathname).toBe('/signin');
    expect(await a.page.isVisible('#signin')).toBe(true);
    expect(await a.context.cookies()).toHaveLength(0);
    await shot(a.page, '04-device-a-signed-out');
  });

  it('SEC-06 SEC-14 admin enters admin mode (new ticket), rotates keys and runs rewrap with live progress', async () => {
    // A few more sessions, so the rewrap has several pages to go through.
    for (const name of ['bob', 'alice']) {
      const d = await newDevice();
      await signIn(d.page, name);
    }
    const { context, page } = await newDevice();
    await signIn(page, 'admin');
    const before = (await context.cookies())[0]?.value;
    await page.goto(new URL('/admin', app.url).href);
    expect(await page.isVisible('#enter-admin')).toBe(true);
    await page.fill('#admin-password', PASSWORD);
    await Promise.all([page.waitForURL('**/admin'), page.click('#enter')]);
    const after = (await context.cookies())[0]?.value;
    expect(after).toMatch(/^cr1_/);
    expect(after).not.toBe(before);
    expect(await app.cloakroom.resolve(before)).toBeNull();

    const oldStorage = (await app.keys.status()).storage.find((k) => k.state === 'primary')?.id;
    await Promise.all([page.waitForURL('**/admin'), page.click('#rotate-signing')]);
    await Promise.all([page.waitForURL('**/admin'), page.click('#rotate-storage')]);
    expect(await page.locator('#storage-keys tr.key.pending').count()).toBe(1);
    expect(await page.locator('#signing-keys tr.key.pending').count()).toBe(1);
    await shot(page, '05-admin-rotated');

    await Promise.all([page.waitForURL('**/admin'), page.click('#rewrap')]);
    await page.waitForSelector('#verdict', { timeout: 15_000 });
    const log = await page.locator('#log .line').allTextContents();
    expect(log.some((l) => l.includes('waiting for storage key'))).toBe(true);
    expect(log.filter((l) => /scanned \d+ · rewrapped \d+/.test(l)).length).toBeGreaterThan(1);
    expect(await page.textContent('#job-state')).toMatch(/finished/);
    const verdict = await page.textContent('#verdict');
    expect(verdict).toMatch(/^All \d+ records are under the primary storage key/);
    const reportRows = await page.locator('#report-table tr.report-key').allTextContents();
    expect(reportRows).toHaveLength(1);
    expect(reportRows[0]).toContain('primary');
    const newStorage = (await app.keys.status()).storage.find((k) => k.state === 'primary')?.id;
    expect(newStorage).not.toBe(oldStorage);
    expect(verdict).toContain(newStorage as string);
    // The key tables were updated live too: the new key is primary, none pending.
    expect(await page.locator('#storage-keys tr.key.pending').count()).toBe(0);
    expect(await page.textContent('#storage-keys tr.key.primary')).toContain(newStorage as string);
    await shot(page, '06-admin-rewrap-report');
  });

  it('SEC-26 a non-admin posting to the admin endpoints gets 403, even with a valid CSRF token', async () => {
    const { page } = await newDevice();
    await signIn(page, 'alice');
    const csrf = await pageCsrf(page);
    expect(await postFromPage(page, '/admin/rotate', { csrf, kind: 'storage' })).toBe(403);
    expect(await postFromPage(page, '/admin/rewrap', { csrf })).toBe(403);
    expect(await postFromPage(page, '/admin/enter', { csrf, password: PASSWORD })).toBe(403);
    const response = await page.goto(new URL('/admin', app.url).href);
    expect(response?.status()).toBe(403);
    await shot(page, '07-non-admin-forbidden');
  });

  it('CSRF: a POST without the token gets 403 and changes nothing', async () => {
    const other = await newDevice();
    await signIn(other.page, 'bob');
    const { page } = await newDevice();
    await signIn(page, 'bob');
    const count = () => page.locator('#sessions tbody tr.session').count();
    const sessions = await count();
    expect(sessions).toBeGreaterThanOrEqual(2);
    expect(await postFromPage(page, '/sessions/revoke-others', {})).toBe(403);
    expect(await postFromPage(page, '/signout', { csrf: 'forged' })).toBe(403);
    await page.reload();
    expect(await count()).toBe(sessions);
    // The same request with the page's token works.
    const csrf = await pageCsrf(page);
    expect(await postFromPage(page, '/sessions/revoke-others', { csrf })).toBe(0); // opaque redirect
    await page.reload();
    expect(await count()).toBe(1);
  });
});

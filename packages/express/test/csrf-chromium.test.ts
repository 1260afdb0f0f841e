// SEC-33 in a real browser: headless Chromium (Debian's /usr/bin/chromium,
// driven by playwright-core) signs in to an Express app on one loopback
// origin, then visits attacker pages on two other origins that auto-submit
// a form POST to the app. The cookie is the development one (plain http).
import { once } from 'node:events';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cloakroomExpress } from '@cloakroom/express';
import express from 'express';
import { type Browser, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, createFixture } from '../../http/test/fixture';

interface Seen {
  readonly path: string;
  readonly cookie: boolean;
  readonly secFetchSite: string | undefined;
  readonly origin: string | undefined;
  readonly status: number;
}

let fixture: Fixture;
let appServer: Server;
let attackerServer: Server;
let browser: Browser;
let appUrl: string;
let attackerPort: number;
const seen: Seen[] = [];
const state = { notes: 0, hooks: 0 };

const closeServer = (server: Server | undefined) =>
  new Promise<void>((resolve) => {
    if (server === undefined) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });

async function listen(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

const formPage = (action: string, auto: boolean) => `<!doctype html>
<html><body>
<form id="f" method="post" action="${action}"><input name="note" value="pwned"></form>
${auto ? '<script>document.getElementById("f").submit()</script>' : '<button id="go" form="f">Post</button>'}
</body></html>`;

beforeAll(async () => {
  fixture = await createFixture();
  const auth = cloakroomExpress(fixture.cloakroom, {
    cookie: { name: 'cloakroom-dev', secure: false },
  });
  const app = express();
  app.use((req, res, next) => {
    res.on('finish', () =>
      seen.push({
        path: req.path,
        cookie: (req.headers.cookie ?? '').includes('cloakroom-dev=cr1_'),
        secFetchSite: req.headers['sec-fetch-site'] as string | undefined,
        origin: req.headers.origin,
        status: res.statusCode,
      }),
    );
    next();
  });
  app.use(express.json(), express.urlencoded({ extended: false }));
  app.post('/hook', auth.middleware({ csrf: false }), auth.required, (_req, res) => {
    res.status(201).json({ hooks: ++state.hooks });
  });
  app.use(auth.middleware());
  app.get('/', (_req, res) => {
    res.type('html').send(formPage('/notes', false));
  });
  app.post('/login', async (req, res) => {
    await req.cloakroom.signIn(String(req.body.username), {});
    res.json({});
  });
  app.post('/notes', auth.required, (_req, res) => {
    res.status(201).json({ notes: ++state.notes });
  });
  app.use(auth.errorHandler);
  appServer = app.listen(0, '127.0.0.1');
  await once(appServer, 'listening');
  appUrl = `http://127.0.0.1:${(appServer.address() as AddressInfo).port}`;

  attackerServer = createServer((req, res) => {
    const target = req.url === '/hook' ? `${appUrl}/hook` : `${appUrl}/notes`;
    res.writeHead(200, { 'content-type': 'text/html' }).end(formPage(target, true));
  });
  attackerPort = await listen(attackerServer);

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
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await closeServer(attackerServer);
  await closeServer(appServer);
  await fixture?.close();
});

async function signedInPage(): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(appUrl);
  const status = await page.evaluate(async () => {
    const response = await fetch('/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice' }),
    });
    return response.status;
  });
  expect(status).toBe(200);
  return page;
}

/** Open an attacker page that auto-posts its form to the app; the app's answer. */
async function attack(page: Page, attackerOrigin: string, path = '/'): Promise<Seen> {
  const before = seen.length;
  const answered = page.waitForResponse(
    (r) => r.url().startsWith(appUrl) && r.request().method() === 'POST',
  );
  await page.goto(`${attackerOrigin}${path}`);
  await answered;
  await expect.poll(() => seen.length).toBeGreaterThan(before);
  return seen[seen.length - 1]!;
}

describe('SEC-33 in headless Chromium', () => {
  it('a form auto-posted from a cross-site page (localhost vs 127.0.0.1) is refused with 403 and changes nothing', async () => {
    const page = await signedInPage();
    const request = await attack(page, `http://localhost:${attackerPort}`);
    expect(request).toMatchObject({ path: '/notes', secFetchSite: 'cross-site', status: 403 });
    expect(request.origin).toBe(`http://localhost:${attackerPort}`);
    expect(state.notes).toBe(0);
    await page.context().close();
  });

  it('a form auto-posted from another origin of the same site carries the SameSite=Lax cookie, and the CSRF check alone refuses it', async () => {
    const page = await signedInPage();
    const request = await attack(page, `http://127.0.0.1:${attackerPort}`);
    // Ports are not part of a site: the browser sends the cookie; SameSite does not help here.
    expect(request).toMatchObject({
      path: '/notes',
      cookie: true,
      secFetchSite: 'same-site',
      status: 403,
    });
    expect(state.notes).toBe(0);
    await page.context().close();
  });

  it('the same attack on a route that opted out (csrf: false) gets through: the browser really delivers it', async () => {
    const page = await signedInPage();
    const request = await attack(page, `http://127.0.0.1:${attackerPort}`, '/hook');
    expect(request).toMatchObject({ path: '/hook', cookie: true, status: 201 });
    expect(state.hooks).toBe(1);
    await page.context().close();
  });

  it('the same form posted from the app’s own page succeeds', async () => {
    const page = await signedInPage();
    const before = state.notes;
    const answered = page.waitForResponse((r) => r.url() === `${appUrl}/notes`);
    await page.click('#go');
    expect((await answered).status()).toBe(201);
    expect(seen[seen.length - 1]).toMatchObject({
      path: '/notes',
      cookie: true,
      secFetchSite: 'same-origin',
    });
    expect(state.notes).toBe(before + 1);
    await page.context().close();
  });
});

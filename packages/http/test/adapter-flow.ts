// The walk every framework adapter must pass over real HTTP. Each adapter's
// test builds the same small app with its adapter (a few lines per route)
// and hands `describeAdapter` a way to start it on 127.0.0.1:0.
//
// The app's routes:
//   POST /login              { username }  signIn(username, { role: 'user' }) -> 200 { csrfToken }
//   GET  /me                 required      -> 200 { subject, claims }
//   POST /elevate            required      refresh({ claims: { role: 'admin' } }) -> 200 {}
//   POST /logout                           signOut() -> 204
//   POST /logout-everywhere  required      signOutEverywhere() -> 200 { revoked }
//   POST /notes              required      state.notes++ -> 201 { notes }
//   POST /webhook            csrf: false   state.hooks++ -> 200 { hooks }
// JSON and application/x-www-form-urlencoded bodies are both parsed (the
// `_csrf` form field of the CSRF fallback).
import type { Cloakroom } from '@cloakroom/core';
import type { CloakroomHttpOptions } from '@cloakroom/http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Fixture, type TestClaims, createFixture } from './fixture';

export interface AppState {
  notes: number;
  hooks: number;
}

export interface RunningApp {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The app's state when it lives in another process (Next.js); default: the `state` given to start. */
  readState?(): Promise<AppState>;
  close(): Promise<void>;
}

/**
 * Start the test app. `cloakroom` is ready for in-process apps; an app in
 * another process builds its own over `redisUrl` (the cuttable proxy).
 */
export type StartApp = (
  cloakroom: Cloakroom<TestClaims>,
  options: CloakroomHttpOptions,
  state: AppState,
  redisUrl: string,
) => Promise<RunningApp>;

interface Send {
  readonly method?: string;
  readonly cookie?: string | undefined;
  readonly headers?: Record<string, string>;
  readonly json?: unknown;
  readonly form?: Record<string, string>;
}

/** Set-Cookie attributes, names lower-cased. */
function parseSetCookie(header: string) {
  const [pair = '', ...rest] = header.split(';');
  const eq = pair.indexOf('=');
  const attributes = new Map<string, string>();
  for (const part of rest) {
    const at = part.indexOf('=');
    attributes.set(
      (at === -1 ? part : part.slice(0, at)).trim().toLowerCase(),
      at === -1 ? '' : part.slice(at + 1).trim(),
    );
  }
  return { name: pair.slice(0, eq).trim(), value: pair.slice(eq + 1).trim(), attributes };
}

export function describeAdapter(framework: string, start: StartApp): void {
  describe(`${framework} adapter over real HTTP`, () => {
    let fixture: Fixture;
    let app: RunningApp;
    let state: AppState;
    const extra: RunningApp[] = [];

    // Each app has its own state, as an app in another process would.
    const states = new Map<RunningApp, AppState>();
    const open = async (options: CloakroomHttpOptions = {}) => {
      const own = { notes: 0, hooks: 0 };
      const running = await start(fixture.cloakroom, options, own, fixture.redis.url);
      states.set(running, own);
      extra.push(running);
      return running;
    };
    beforeEach(async () => {
      fixture = await createFixture();
      state = { notes: 0, hooks: 0 };
      app = await start(fixture.cloakroom, {}, state, fixture.redis.url);
      states.set(app, state);
    });
    afterEach(async () => {
      for (const running of [app, ...extra.splice(0)]) await running.close();
      await fixture.close();
    });

    const send = (path: string, request: Send = {}, on: RunningApp = app) => {
      const headers = new Headers(request.headers);
      if (request.cookie !== undefined) headers.set('cookie', request.cookie);
      let body: string | undefined;
      if (request.json !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(request.json);
      } else if (request.form !== undefined) {
        headers.set('content-type', 'application/x-www-form-urlencoded');
        body = new URLSearchParams(request.form).toString();
      }
      return fetch(new URL(path, on.url), {
        method: request.method ?? (body === undefined ? 'GET' : 'POST'),
        headers,
        ...(body === undefined ? {} : { body }),
        redirect: 'manual',
      });
    };
    // What a browser sends with a same-origin fetch or form post.
    const sameOrigin = (on: RunningApp = app) => ({
      'sec-fetch-site': 'same-origin',
      origin: on.url,
    });
    const signIn = async (username: string, on: RunningApp = app) => {
      const response = await send('/login', { json: { username }, headers: sameOrigin(on) }, on);
      expect(response.status).toBe(200);
      const [setCookie] = response.headers.getSetCookie();
      const { name, value } = parseSetCookie(setCookie!);
      const { csrfToken } = (await response.json()) as { csrfToken: string };
      return { cookie: `${name}=${value}`, ticket: value, csrfToken };
    };
    const stateOf = async (on: RunningApp) => (await on.readState?.()) ?? states.get(on)!;
    const notes = async (on: RunningApp = app) => (await stateOf(on)).notes;
    const hooks = async (on: RunningApp = app) => (await stateOf(on)).hooks;
    const me = (cookie?: string, on: RunningApp = app) => send('/me', { cookie }, on);
    const postNote = (cookie: string | undefined, headers: Record<string, string>) =>
      send('/notes', { method: 'POST', cookie, headers, json: {} });

    it('sign-in sets the ticket cookie (SEC-08 attributes) and the session reaches the handler typed', async () => {
      const response = await send('/login', { json: { username: 'alice' }, headers: sameOrigin() });
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      const cookies = response.headers.getSetCookie();
      expect(cookies).toHaveLength(1);
      const cookie = parseSetCookie(cookies[0]!);
      expect(cookie.name).toBe('__Host-cloakroom');
      expect(cookie.value.startsWith('cr1_')).toBe(true);
      for (const flag of ['secure', 'httponly']) expect(cookie.attributes.get(flag)).toBe('');
      expect(cookie.attributes.get('samesite')).toBe('Lax');
      expect(cookie.attributes.get('path')).toBe('/');
      expect(Number(cookie.attributes.get('max-age'))).toBeGreaterThan(3600);
      const body = await response.text();
      expect(body).not.toContain(cookie.value);

      const answer = await me(`${cookie.name}=${cookie.value}`);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('cache-control')).toBe('no-store');
      expect(await answer.json()).toEqual({ subject: 'alice', claims: { role: 'user' } });
    });

    it('a protected route answers 401 without a ticket, with a bad one, and with a forged one', async () => {
      for (const cookie of [
        undefined,
        '__Host-cloakroom=',
        '__Host-cloakroom=not-a-ticket',
        `__Host-cloakroom=cr1_${'A'.repeat(43)}`,
      ]) {
        const answer = await me(cookie);
        expect(answer.status, String(cookie)).toBe(401);
        expect(await answer.json()).toEqual({ error: 'unauthorized' });
        expect(answer.headers.getSetCookie()).toEqual([]);
      }
    });

    it('a store outage answers 503 with Retry-After, never 401, and the session survives it', async () => {
      const alice = await signIn('alice');
      await fixture.redis.down();
      const answers = [
        await me(alice.cookie),
        await send('/elevate', { method: 'POST', cookie: alice.cookie, headers: sameOrigin() }),
        await send('/login', { json: { username: 'bob' }, headers: sameOrigin() }),
      ];
      for (const answer of answers) {
        expect(answer.status).toBe(503);
        expect(answer.headers.get('retry-after')).toBe('5');
        expect(await answer.json()).toEqual({ error: 'unavailable' });
        // No cookie is set or cleared while the store cannot say what is true.
        expect(answer.headers.getSetCookie()).toEqual([]);
      }
      // A sign-out the store could not record keeps the cookie: the session is still alive.
      const logout = await send('/logout', {
        method: 'POST',
        cookie: alice.cookie,
        headers: sameOrigin(),
      });
      expect(logout.status).toBe(503);
      expect(logout.headers.getSetCookie()).toEqual([]);
      await fixture.redis.up();
      // The client reconnects with its own backoff; the session was never touched.
      await expect
        .poll(async () => (await me(alice.cookie)).status, { timeout: 10_000, interval: 200 })
        .toBe(200);
    });

    it('refresh rotates the ticket: a new cookie with the new claims, the old ticket dead (SEC-06)', async () => {
      const alice = await signIn('alice');
      const elevated = await send('/elevate', {
        method: 'POST',
        cookie: alice.cookie,
        headers: sameOrigin(),
      });
      expect(elevated.status).toBe(200);
      const [setCookie] = elevated.headers.getSetCookie();
      const next = parseSetCookie(setCookie!);
      expect(next.value).not.toBe(alice.ticket);
      expect((await me(alice.cookie)).status).toBe(401);
      const after = await me(`${next.name}=${next.value}`);
      expect(await after.json()).toEqual({ subject: 'alice', claims: { role: 'admin' } });
    });

    it('sign-out revokes the session and clears the cookie', async () => {
      const alice = await signIn('alice');
      const logout = await send('/logout', {
        method: 'POST',
        cookie: alice.cookie,
        headers: sameOrigin(),
      });
      expect(logout.status).toBe(204);
      const cleared = parseSetCookie(logout.headers.getSetCookie()[0]!);
      expect(cleared.name).toBe('__Host-cloakroom');
      expect(cleared.value).toBe('');
      expect(cleared.attributes.get('max-age')).toBe('0');
      expect((await me(alice.cookie)).status).toBe(401);
    });

    it('sign-out-everywhere revokes every session of the user and no one else', async () => {
      const laptop = await signIn('alice');
      const phone = await signIn('alice');
      const bob = await signIn('bob');
      const everywhere = await send('/logout-everywhere', {
        method: 'POST',
        cookie: phone.cookie,
        headers: sameOrigin(),
      });
      expect(everywhere.status).toBe(200);
      expect(await everywhere.json()).toEqual({ revoked: 2 });
      expect(parseSetCookie(everywhere.headers.getSetCookie()[0]!).value).toBe('');
      expect((await me(laptop.cookie)).status).toBe(401);
      expect((await me(phone.cookie)).status).toBe(401);
      expect((await me(bob.cookie)).status).toBe(200);
    });

    it('SEC-33 an unsafe cross-site request is refused with 403 and changes nothing', async () => {
      const alice = await signIn('alice');
      const evil = 'https://evil.example';
      for (const headers of [
        { 'sec-fetch-site': 'cross-site', origin: evil },
        // A sibling subdomain is same-site but another origin.
        { 'sec-fetch-site': 'same-site', origin: 'https://blog.example.test' },
        // Browsers without Fetch Metadata: the Origin alone decides.
        { origin: evil },
        { origin: 'null' },
        // An unknown Sec-Fetch-Site value is not trusted.
        { 'sec-fetch-site': 'cross-origin', origin: app.url },
      ]) {
        const answer = await postNote(alice.cookie, headers);
        expect(answer.status, JSON.stringify(headers)).toBe(403);
        expect(await answer.json()).toEqual({ error: 'cross_site_request' });
      }
      // The same refusal for every unsafe method, and before any session is looked at.
      for (const method of ['PUT', 'PATCH', 'DELETE']) {
        const answer = await send('/notes', {
          method,
          cookie: alice.cookie,
          headers: { 'sec-fetch-site': 'cross-site', origin: evil },
        });
        expect(answer.status, method).toBe(403);
      }
      const login = await send('/login', {
        json: { username: 'mallory' },
        headers: { 'sec-fetch-site': 'cross-site', origin: evil },
      });
      expect(login.status).toBe(403);
      expect(login.headers.getSetCookie()).toEqual([]);
      expect(await notes()).toBe(0);
    });

    it('SEC-33 same-origin requests pass: by Sec-Fetch-Site, by Origin, and from an allowed origin', async () => {
      const alice = await signIn('alice');
      expect((await postNote(alice.cookie, { 'sec-fetch-site': 'same-origin' })).status).toBe(201);
      expect((await postNote(alice.cookie, { origin: app.url })).status).toBe(201);
      expect(await notes()).toBe(2);

      const partner = 'https://admin.example.test';
      const configured = await open({
        origin: 'https://app.example.test',
        allowedOrigins: [partner],
      });
      const bob = await signIn('bob', configured);
      const viaPartner = await send(
        '/notes',
        {
          cookie: bob.cookie,
          headers: { 'sec-fetch-site': 'same-site', origin: partner },
          json: {},
        },
        configured,
      );
      expect(viaPartner.status).toBe(201);
      // The configured origin replaces the one the request was addressed to.
      const ownOrigin = await send(
        '/notes',
        { cookie: bob.cookie, headers: { origin: 'https://app.example.test' }, json: {} },
        configured,
      );
      expect(ownOrigin.status).toBe(201);
      const addressed = await send(
        '/notes',
        { cookie: bob.cookie, headers: { origin: configured.url }, json: {} },
        configured,
      );
      expect(addressed.status).toBe(403);
      expect(await notes(configured)).toBe(2);
    });

    it('SEC-33 without Sec-Fetch-Site and Origin, only the session CSRF token lets a request through', async () => {
      const alice = await signIn('alice');
      const bob = await signIn('bob');
      expect((await postNote(alice.cookie, {})).status).toBe(403);
      expect((await postNote(alice.cookie, { 'x-csrf-token': 'guess' })).status).toBe(403);
      // A token is bound to its session: Bob's does not work for Alice.
      expect((await postNote(alice.cookie, { 'x-csrf-token': bob.csrfToken })).status).toBe(403);
      // Nothing to bind a token to: refused, never waved through.
      expect((await postNote(undefined, { 'x-csrf-token': alice.csrfToken })).status).toBe(403);
      expect(await notes()).toBe(0);
      expect((await postNote(alice.cookie, { 'x-csrf-token': alice.csrfToken })).status).toBe(201);
      const form = await send('/notes', { cookie: alice.cookie, form: { _csrf: alice.csrfToken } });
      expect(form.status).toBe(201);
      const wrongForm = await send('/notes', {
        cookie: alice.cookie,
        form: { _csrf: bob.csrfToken },
      });
      expect(wrongForm.status).toBe(403);
      expect(await notes()).toBe(2);
    });

    it('SEC-33 a route that opts out (csrf: false) accepts cross-site posts', async () => {
      const hook = await send('/webhook', {
        json: { event: 'paid' },
        headers: { 'sec-fetch-site': 'cross-site', origin: 'https://payments.example' },
      });
      expect(hook.status).toBe(200);
      expect(await hooks()).toBe(1);
    });

    it('a bearer ticket (opt-in) needs no CSRF check; with the cookie as well it is refused', async () => {
      const withBearer = await open({ bearer: true });
      const alice = await signIn('alice', withBearer);
      const crossSite = { 'sec-fetch-site': 'cross-site', origin: 'https://cli.example' };
      const bearer = await send(
        '/notes',
        { headers: { ...crossSite, authorization: `Bearer ${alice.ticket}` }, json: {} },
        withBearer,
      );
      expect(bearer.status).toBe(201);
      const both = await send(
        '/notes',
        {
          cookie: alice.cookie,
          headers: { 'sec-fetch-site': 'same-origin', authorization: `Bearer ${alice.ticket}` },
          json: {},
        },
        withBearer,
      );
      expect(both.status).toBe(400);
      expect(await both.json()).toEqual({ error: 'ambiguous_credentials' });
      // Off by default: the header is not read at all.
      const ignored = await send('/me', { headers: { authorization: `Bearer ${alice.ticket}` } });
      expect(ignored.status).toBe(401);
      expect(await notes(withBearer)).toBe(1);
    });
  });
}

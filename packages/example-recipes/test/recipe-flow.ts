// The walk every recipe must pass, whatever the framework: each
// `<framework>.test.ts` only says how to start its app and send a request.
import { TICKET_PREFIX } from '@cloakroom/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Fixture, USERS, createFixture, verifyPassword } from './fixture';
import {
  cookieOf,
  everythingButTheCookie,
  expectSecureAttributes,
  setCookieOf,
} from './set-cookie';
import type { RunningApp, Send, StartApp } from './transport';

export { overLoopback, toRequest } from './transport';

/** The whole recipe contract, run against one framework. */
export function describeRecipe(framework: string, start: StartApp): void {
  describe(`${framework} recipe`, () => {
    let fixture: Fixture;
    let app: RunningApp;
    let send: Send;

    beforeEach(async () => {
      fixture = await createFixture();
      app = await start(fixture.cloakroom, { verifyPassword });
      send = app.send;
    });
    afterEach(async () => {
      await app.close();
      await fixture.cloakroom.close();
    });

    const login = async (username: keyof typeof USERS, device: string): Promise<string> => {
      const password = USERS[username];
      const response = await send({
        method: 'POST',
        path: '/login',
        json: { username, password },
        userAgent: device,
      });
      expect(response.status).toBe(200);
      return cookieOf(response);
    };
    const get = (path: string, cookie?: string) =>
      send({ method: 'GET', path, ...(cookie === undefined ? {} : { cookie }) });
    const post = (path: string, cookie?: string, json?: unknown) =>
      send({
        method: 'POST',
        path,
        ...(cookie === undefined ? {} : { cookie }),
        ...(json === undefined ? {} : { json }),
      });
    const statusOf = async (path: string, cookie: string) => (await get(path, cookie)).status;

    it('SEC-08 login sets the ticket cookie as __Host-, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain', async () => {
      const response = await send({
        method: 'POST',
        path: '/login',
        json: { username: 'alice', password: USERS.alice },
      });
      expect(response.status).toBe(200);
      const cookie = setCookieOf(response);
      expectSecureAttributes(cookie);
      expect(cookie.value.startsWith(TICKET_PREFIX)).toBe(true);
      // Max-Age: the session's absolute lifetime (12 h by default), never longer.
      const maxAge = Number(cookie.attributes.get('max-age'));
      expect(maxAge).toBeGreaterThan(12 * 3600 - 60);
      expect(maxAge).toBeLessThanOrEqual(12 * 3600);
      expect(response.headers.get('location')).toBeNull();
      expect(await everythingButTheCookie(response)).not.toContain(cookie.value);
    });

    it('SEC-06 SEC-07 login, elevate, second device, log out other devices, logout', async () => {
      const bob = await login('bob', 'bob-laptop');
      const device1 = await login('alice', 'device-1');
      const me = await get('/me', device1);
      expect(me.status).toBe(200);
      expect(me.headers.get('cache-control')).toBe('no-store');
      expect(await me.json()).toMatchObject({ subject: 'alice', claims: { elevated: false } });

      // Privilege change: a new ticket, and the old one stops working at once.
      const elevated = await post('/elevate', device1, { password: USERS.alice });
      expect(elevated.status).toBe(200);
      expectSecureAttributes(setCookieOf(elevated));
      const device1Elevated = cookieOf(elevated);
      expect(device1Elevated).not.toBe(device1);
      expect(await everythingButTheCookie(elevated)).not.toContain(device1Elevated.split('=')[1]!);
      expect(await statusOf('/me', device1)).toBe(401);
      const meElevated = await get('/me', device1Elevated);
      expect(meElevated.status).toBe(200);
      expect(await meElevated.json()).toMatchObject({
        subject: 'alice',
        claims: { elevated: true },
      });

      const device2 = await login('alice', 'device-2');
      const listed = await get('/sessions', device2);
      expect(listed.status).toBe(200);
      const { sessions } = (await listed.json()) as {
        sessions: { label?: string; current: boolean; sessionId: string }[];
      };
      expect(sessions.map((s) => s.label).sort()).toEqual(['device-1', 'device-2']);
      expect(sessions.filter((s) => s.current).map((s) => s.label)).toEqual(['device-2']);

      const others = await post('/logout-others', device2);
      expect(others.status).toBe(200);
      expect(await others.json()).toEqual({ revoked: 1 });
      expect(await statusOf('/me', device1Elevated)).toBe(401);
      expect(await statusOf('/me', device2)).toBe(200);
      const after = (await (await get('/sessions', device2)).json()) as { sessions: unknown[] };
      expect(after.sessions).toHaveLength(1);
      // Another user's sessions are untouched.
      expect(await statusOf('/me', bob)).toBe(200);

      const logout = await post('/logout', device2);
      expect(logout.status).toBe(204);
      const cleared = setCookieOf(logout);
      expectSecureAttributes(cleared);
      expect(cleared.value).toBe('');
      expect(cleared.attributes.get('max-age')).toBe('0');
      expect(await statusOf('/me', device2)).toBe(401);
      expect(await statusOf('/sessions', device2)).toBe(401);
      expect((await post('/logout-others', device2)).status).toBe(401);
      expect((await post('/elevate', device2, { password: USERS.alice })).status).toBe(401);
    });

    it('a store outage answers 503, never 401, and the session survives it', async () => {
      const device = await login('alice', 'device-1');
      fixture.outage = true;
      const answers = [
        await get('/me', device),
        await get('/sessions', device),
        await post('/elevate', device, { password: USERS.alice }),
        await post('/logout-others', device),
        await post('/logout', device),
        await send({
          method: 'POST',
          path: '/login',
          json: { username: 'alice', password: USERS.alice },
        }),
      ];
      expect(answers.map((r) => r.status)).toEqual([503, 503, 503, 503, 503, 503]);
      // No cookie is set or cleared while the store cannot say what is true.
      expect(answers.flatMap((r) => r.headers.getSetCookie())).toEqual([]);
      fixture.outage = false;
      expect(await statusOf('/me', device)).toBe(200);
    });

    it('SEC-33 a cross-site post is refused with 403 before it changes anything', async () => {
      const cookie = await login('alice', 'device-1');
      const crossSite = { secFetchSite: 'cross-site', origin: 'https://evil.example' } as const;
      const logout = await send({ method: 'POST', path: '/logout', cookie, ...crossSite });
      expect(logout.status).toBe(403);
      expect(logout.headers.getSetCookie()).toEqual([]);
      const signIn = await send({
        method: 'POST',
        path: '/login',
        json: { username: 'alice', password: USERS.alice },
        ...crossSite,
      });
      expect(signIn.status).toBe(403);
      expect(signIn.headers.getSetCookie()).toEqual([]);
      // A browser too old to send Sec-Fetch-Site or Origin, without the CSRF token: refused too.
      const old = await send({ method: 'POST', path: '/logout', cookie, secFetchSite: null });
      expect(old.status).toBe(403);
      expect(await statusOf('/me', cookie)).toBe(200);
      const listed = (await (await get('/sessions', cookie)).json()) as { sessions: unknown[] };
      expect(listed.sessions).toHaveLength(1);
    });

    it('SEC-08 the ticket is read from the cookie only, never from the URL', async () => {
      const cookie = await login('alice', 'device-1');
      const ticket = cookie.slice(cookie.indexOf('=') + 1);
      for (const query of [`ticket=${ticket}`, `__Host-cloakroom=${ticket}`, `cookie=${ticket}`]) {
        expect((await get(`/me?${query}`)).status).toBe(401);
      }
      expect(await statusOf('/me', cookie)).toBe(200);
    });

    it('malformed, missing and forged cookies get 401', async () => {
      expect((await get('/me')).status).toBe(401);
      for (const cookie of [
        '__Host-cloakroom=',
        '__Host-cloakroom=../../etc/passwd',
        `__Host-cloakroom=${TICKET_PREFIX}${'A'.repeat(43)}`,
        `other=1; __Host-cloakroom="x"`,
      ]) {
        expect(await statusOf('/me', cookie)).toBe(401);
      }
    });

    it('wrong credentials get 401 and no cookie; a malformed body gets 400', async () => {
      const wrong = await send({
        method: 'POST',
        path: '/login',
        json: { username: 'alice', password: USERS.bob },
      });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.getSetCookie()).toEqual([]);
      const unknown = await send({
        method: 'POST',
        path: '/login',
        json: { username: 'mallory', password: USERS.alice },
      });
      expect(unknown.status).toBe(401);
      for (const json of [{}, { username: 'alice' }, { username: 42, password: [] }, 'alice']) {
        const response = await send({ method: 'POST', path: '/login', json });
        expect(response.status).toBe(400);
        expect(response.headers.getSetCookie()).toEqual([]);
      }
      const broken = await send({ method: 'POST', path: '/login', rawJson: '{"username":' });
      expect(broken.status).toBe(400);
      expect(broken.headers.getSetCookie()).toEqual([]);
    });

    it('a sign-in posted as a cross-site form could (text/plain) gets no cookie; an oversized body is refused', async () => {
      const credentials = JSON.stringify({ username: 'alice', password: USERS.alice });
      for (const contentType of ['text/plain', 'application/x-www-form-urlencoded']) {
        const response = await send({
          method: 'POST',
          path: '/login',
          rawJson: credentials,
          contentType,
        });
        expect(response.status).toBeGreaterThanOrEqual(400);
        expect(response.status).toBeLessThan(500);
        expect(response.headers.getSetCookie()).toEqual([]);
      }
      const oversized = await send({
        method: 'POST',
        path: '/login',
        json: { username: 'alice', password: USERS.alice, padding: 'x'.repeat(8192) },
      });
      expect(oversized.status).toBeGreaterThanOrEqual(400);
      expect(oversized.status).toBeLessThan(500);
      expect(oversized.headers.getSetCookie()).toEqual([]);
    });

    it('elevate with a wrong password gets 403 and keeps the ticket as it was', async () => {
      const cookie = await login('alice', 'device-1');
      const denied = await post('/elevate', cookie, { password: USERS.bob });
      expect(denied.status).toBe(403);
      expect(denied.headers.getSetCookie()).toEqual([]);
      const me = await get('/me', cookie);
      expect(me.status).toBe(200);
      expect(await me.json()).toMatchObject({ claims: { elevated: false } });
    });

    it('development cookie options (no prefix, secure: false) are used to set, read and clear', async () => {
      const dev = await start(fixture.cloakroom, {
        verifyPassword,
        cookie: { name: 'cloakroom-dev', secure: false },
      });
      try {
        const response = await dev.send({
          method: 'POST',
          path: '/login',
          json: { username: 'alice', password: USERS.alice },
        });
        const cookie = setCookieOf(response);
        expect(cookie.name).toBe('cloakroom-dev');
        expect(cookie.attributes.has('secure')).toBe(false);
        expect(cookie.attributes.get('httponly')).toBe('');
        expect(cookie.attributes.get('samesite')).toBe('Lax');
        const pair = `cloakroom-dev=${cookie.value}`;
        expect((await dev.send({ method: 'GET', path: '/me', cookie: pair })).status).toBe(200);
        const wrongName = `__Host-cloakroom=${cookie.value}`;
        expect((await dev.send({ method: 'GET', path: '/me', cookie: wrongName })).status).toBe(
          401,
        );
        const logout = await dev.send({ method: 'POST', path: '/logout', cookie: pair });
        expect(setCookieOf(logout).name).toBe('cloakroom-dev');
        expect((await dev.send({ method: 'GET', path: '/me', cookie: pair })).status).toBe(401);
      } finally {
        await dev.close();
      }
    });
  });
}

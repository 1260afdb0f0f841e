import { beforeAll, describe, expect, it } from 'vitest';
import { describeAdapter } from '../../http/test/adapter-flow';
import { createFixture } from '../../http/test/fixture';
import type { AppState } from '../../http/test/adapter-flow';
import { buildNextApp, startNextApp } from './next-app';

beforeAll(() => buildNextApp(), 300_000);

describeAdapter(
  'Next.js 16 (next build + next start)',
  async (_cloakroom, options, _state, redisUrl) => {
    const server = await startNextApp(redisUrl, options);
    return {
      url: server.url,
      readState: async () => (await (await fetch(`${server.url}/state`)).json()) as AppState,
      close: () => server.close(),
    };
  },
);

describe('Next.js server components: await auth.getSession()', () => {
  it('renders the session read from the Cookie header (headers() from next/headers), and no session without a valid ticket', async () => {
    const fixture = await createFixture();
    const server = await startNextApp(fixture.redis.url, {});
    try {
      const page = (cookie?: string) =>
        fetch(server.url, cookie === undefined ? {} : { headers: { cookie } });
      const login = await fetch(`${server.url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' },
        body: JSON.stringify({ username: 'alice' }),
      });
      expect(login.status).toBe(200);
      const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
      const signedIn = await page(cookie);
      expect(signedIn.status).toBe(200);
      expect(await signedIn.text()).toContain('signed in as alice (user)');
      expect(await (await page()).text()).toContain('signed out');
      expect(await (await page(`__Host-cloakroom=cr1_${'A'.repeat(43)}`)).text()).toContain(
        'signed out',
      );

      // Store down: the page fails (the error boundary), it never renders as signed out.
      await fixture.redis.down();
      const down = await page(cookie);
      expect(down.status).toBe(500);
      expect(await down.text()).not.toContain('signed out');
    } finally {
      await server.close();
      await fixture.close();
    }
  });

  it('reads the ticket under a custom cookie name, as route handlers do', async () => {
    const fixture = await createFixture();
    const server = await startNextApp(fixture.redis.url, {
      cookie: { name: 'cloakroom-custom', secure: false },
    });
    try {
      const login = await fetch(`${server.url}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' },
        body: JSON.stringify({ username: 'bob' }),
      });
      expect(login.status).toBe(200);
      const cookie = login.headers.getSetCookie()[0]!.split(';')[0]!;
      expect(cookie).toMatch(/^cloakroom-custom=cr1_/);
      const ticket = cookie.slice(cookie.indexOf('=') + 1);
      const page = async (header: string) =>
        (await fetch(server.url, { headers: { cookie: header } })).text();
      expect(await page(`other=1; ${cookie}`)).toContain('signed in as bob (user)');
      // The default name carries nothing when another is configured.
      expect(await page(`__Host-cloakroom=${ticket}`)).toContain('signed out');
    } finally {
      await server.close();
      await fixture.close();
    }
  });
});

// The token response tampered with on its way to the BFF (a compromised
// proxy, a mix-up): the ID token must verify on its own, or no session.
import { afterEach, describe, expect, it } from 'vitest';
import { SignJWT, UnsecuredJWT, decodeJwt, generateKeyPair } from 'jose';
import { CLIENT_ID } from './support/provider';
import { browser } from './support/provider';
import { bffWorld } from './support/world';

type World = Awaited<ReturnType<typeof bffWorld>>;
let w: World | undefined;
const realFetch = globalThis.fetch;
afterEach(async () => {
  globalThis.fetch = realFetch;
  await w?.close();
  w = undefined;
});

/** Replace the id_token of the next code exchange with `forge(original claims)`. */
function tamperIdToken(forge: (claims: Record<string, unknown>) => Promise<string>) {
  globalThis.fetch = async (input, init) => {
    const res = await realFetch(input, init);
    const url = String(input instanceof Request ? input.url : input);
    if (!url.endsWith('/token') || !String(init?.body).includes('authorization_code')) return res;
    const body = (await res.json()) as Record<string, unknown>;
    body.id_token = await forge(decodeJwt(String(body.id_token)) as Record<string, unknown>);
    return new Response(JSON.stringify(body), { status: res.status, headers: res.headers });
  };
}

async function attempt(world: World) {
  const start = await world.vault.beginSignIn();
  const callback = await browser().authorize(start.url, world.redirectUri);
  return world.vault.completeSignIn(callback, start.transaction);
}

const now = () => Math.floor(Date.now() / 1000);

describe('SEC-34 a forged or mismatched ID token yields no session', () => {
  const cases: [string, (w: World, c: Record<string, unknown>) => Promise<string>][] = [
    [
      'another nonce (a replayed ID token)',
      (x, c) => x.idp.sign({ ...c, nonce: 'someone-elses' }, { typ: 'JWT' }),
    ],
    ['no nonce', (x, c) => x.idp.sign({ ...c, nonce: undefined }, { typ: 'JWT' })],
    ['another audience', (x, c) => x.idp.sign({ ...c, aud: 'other-client' }, { typ: 'JWT' })],
    [
      'several audiences without azp',
      (x, c) => x.idp.sign({ ...c, aud: [CLIENT_ID, 'other'] }, { typ: 'JWT' }),
    ],
    ['another issuer', (x, c) => x.idp.sign({ ...c, iss: 'https://evil.test' }, { typ: 'JWT' })],
    [
      'expired',
      (x, c) => x.idp.sign({ ...c, iat: now() - 7200, exp: now() - 3600 }, { typ: 'JWT' }),
    ],
    ['unsigned (alg none)', async (_x, c) => new UnsecuredJWT(c).encode()],
    [
      'signed by another key under the provider kid',
      async (_x, c) => {
        const { privateKey } = await generateKeyPair('RS256');
        return new SignJWT(c)
          .setProtectedHeader({ alg: 'RS256', kid: 'test-rs256' })
          .sign(privateKey);
      },
    ],
  ];
  for (const [name, forge] of cases) {
    it(`refuses an ID token with ${name}`, async () => {
      w = await bffWorld();
      const world = w;
      tamperIdToken((claims) => forge(world, claims));
      await expect(attempt(world)).rejects.toMatchObject({ reason: 'id-token' });
      globalThis.fetch = realFetch;
      expect(world.events.filter((e) => e.type === 'session.created')).toHaveLength(0);
    });
  }

  it('the untampered exchange still signs in (the tamper hook is the only difference)', async () => {
    w = await bffWorld();
    const world = w;
    tamperIdToken((claims) => world.idp.sign(claims, { typ: 'JWT' }));
    expect((await attempt(world)).ticket).toBeTruthy();
  });
});

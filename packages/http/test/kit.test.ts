// The kit itself, without a framework: what it exposes and how it answers
// when the manager is shutting down.
import { randomBytes } from 'node:crypto';
import { createCloakroomHttp } from '@cloakroom/http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Fixture, createFixture } from './fixture';

let fixture: Fixture;
beforeEach(async () => {
  fixture = await createFixture();
});
afterEach(async () => {
  await fixture.close();
});

const view = (cookie: string | undefined, setCookie: (header: string) => void = () => {}) => ({
  method: 'GET',
  header: (name: string) => (name === 'cookie' ? cookie : undefined),
  origin: 'https://app.example.com',
  ip: '203.0.113.7',
  setCookie,
});

describe('createCloakroomHttp', () => {
  it('SEC-27 the CSRF secret never shows on kit.options (logging the options leaks no key)', () => {
    const secret = randomBytes(32);
    const kit = createCloakroomHttp(fixture.cloakroom, { csrfSecret: secret });
    const printed = JSON.stringify(kit.options);
    expect(Object.keys(kit.options)).not.toContain('csrfSecret');
    expect(printed).not.toContain(secret.toString('base64url'));
    expect(printed).not.toContain(secret.toString('base64'));
    expect(printed).not.toContain(secret.toString('hex'));
    // A Uint8Array serialises as {"0":n,"1":n,…}: its bytes as that list must not appear either.
    expect(printed).not.toContain(JSON.stringify(new Uint8Array(secret)).slice(1, -1));
    // The configured secret is still the one in use: a token made under it verifies.
    const other = createCloakroomHttp(fixture.cloakroom, { csrfSecret: secret });
    const sessionId = 'A'.repeat(43);
    expect(other.csrfTokens.verify(sessionId, kit.csrfTokens.tokenFor(sessionId))).toBe(true);
  });

  it('a manager closed during shutdown answers 503 with Retry-After, never 500 or 401', async () => {
    const kit = createCloakroomHttp(fixture.cloakroom, { retryAfterSeconds: 7 });
    const cookies: string[] = [];
    const signedIn = await kit.begin(view(undefined, (h) => cookies.push(h)));
    if (signedIn.kind !== 'continue') throw new Error('expected to continue');
    await signedIn.context.signIn('alice', { role: 'user' });
    const cookie = cookies[0]?.split(';')[0];
    expect(cookie).toMatch(/^__Host-cloakroom=/);

    await fixture.cloakroom.close();
    const begun = await kit.begin(view(cookie));
    expect(begun.kind).toBe('answer');
    if (begun.kind !== 'answer') return;
    expect(begun.answer.status).toBe(503);
    expect(begun.answer.headers['retry-after']).toBe('7');
    expect(begun.answer.body).toEqual({ error: 'unavailable' });
  });

  it('builds the addressed origin only for an unsafe method, and still checks it there', async () => {
    const kit = createCloakroomHttp(fixture.cloakroom);
    let built = 0;
    const origin = () => {
      built++;
      return 'https://app.example.com';
    };
    for (const method of ['GET', 'head', 'OPTIONS']) {
      const begun = await kit.begin({ ...view(undefined), method, origin });
      expect(begun.kind).toBe('continue');
    }
    expect(built).toBe(0);
    const sameOrigin = await kit.begin({
      ...view(undefined),
      method: 'POST',
      origin,
      header: (name: string) => (name === 'origin' ? 'https://app.example.com' : undefined),
    });
    expect(sameOrigin.kind).toBe('continue');
    expect(built).toBe(1);
    const crossSite = await kit.begin({
      ...view(undefined),
      method: 'POST',
      origin,
      header: (name: string) => (name === 'origin' ? 'https://evil.example' : undefined),
    });
    expect(crossSite.kind).toBe('answer');
    expect(built).toBe(2);
  });
});

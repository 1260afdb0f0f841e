import { afterEach, describe, expect, it } from 'vitest';
import { requireAuth } from '@cloakroom/oidc';
import { bffWorld } from './support/world';

type World = Awaited<ReturnType<typeof bffWorld>>;
let w: World | undefined;
afterEach(async () => {
  await w?.close();
  w = undefined;
});

const NOW = Date.UTC(2026, 0, 1, 12);
const sec = (ms: number) => Math.floor(ms / 1000);

describe('requireAuth: freshness and strength of the authentication', () => {
  it('passes a fresh, strong enough authentication', () => {
    const auth = { authTime: sec(NOW) - 60, acr: 'urn:loa:2', amr: ['pwd', 'mfa'] };
    expect(requireAuth(auth, { maxAgeSec: 300, acr: ['urn:loa:2'], amr: ['mfa'] }, NOW)).toEqual({
      ok: true,
    });
  });

  it('asks for prompt=login with max_age and acr_values when too old or too weak', () => {
    const auth = { authTime: sec(NOW) - 3600, acr: 'urn:loa:1', amr: ['pwd'] };
    expect(
      requireAuth(auth, { maxAgeSec: 300, acr: ['urn:loa:2', 'urn:loa:3'], amr: ['mfa'] }, NOW),
    ).toEqual({
      ok: false,
      failed: ['maxAge', 'acr', 'amr'],
      signIn: { prompt: 'login', maxAge: 300, acrValues: 'urn:loa:2 urn:loa:3' },
    });
  });

  it('an unknown auth_time is never fresh; no requirement is always met', () => {
    expect(requireAuth({}, { maxAgeSec: 3600 }, NOW)).toMatchObject({
      ok: false,
      failed: ['maxAge'],
    });
    expect(requireAuth({}, {}, NOW)).toEqual({ ok: true });
  });
});

describe('step-up against oidc-provider', () => {
  it('a step-up sign-in (prompt=login, max_age, acr_values) yields a fresh, stronger session', async () => {
    w = await bffWorld();
    const first = await w.signIn();
    expect(first.auth.acr).toBe('urn:loa:1');
    const need = { maxAgeSec: 600, acr: ['urn:loa:2'] };
    const decision = requireAuth(first.auth, need);
    expect(decision.ok).toBe(false);
    if (decision.ok) return;
    const start = await w.vault.beginSignIn(decision.signIn);
    const url = new URL(start.url);
    expect(url.searchParams.get('prompt')).toBe('login');
    expect(url.searchParams.get('max_age')).toBe('600');
    expect(url.searchParams.get('acr_values')).toBe('urn:loa:2');
    // The user authenticates again, more strongly.
    w.idp.login = { account: 'alice', acr: 'urn:loa:2', amr: ['pwd', 'otp'] };
    const second = await w.signIn(decision.signIn);
    expect(second.auth.acr).toBe('urn:loa:2');
    expect(second.auth.amr).toEqual(['pwd', 'otp']);
    expect(requireAuth(second.auth, need).ok).toBe(true);
    const current = await w.vault.session(second.ticket);
    expect(current?.auth.acr).toBe('urn:loa:2');
  });
});

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  InvalidArgument,
  type UpstreamGrant,
  type UpstreamRefresher,
  createCloakroom,
} from '@cloakroom/core';
import { AUDIENCE, ISSUER, keysFrom, setup } from '../support/fixtures';
import { identityProvider } from '../support/identity-provider';

const IDP = 'https://idp.test';
const TTL_SEC = 60;

/**
 * A refresh-token rotating provider, in memory: every refresh token works
 * once; a spent one presented again revokes the whole family (as
 * oidc-provider and most providers that rotate do) and is counted as reuse.
 */
async function world() {
  let read = () => Date.now();
  const idp = await identityProvider(IDP, () => read());
  const ctx = await setup({ trustedIssuers: [idp.issuer] });
  const clock = ctx.clock;
  read = clock.now;
  const idp2 = idp;
  const cloakroom = ctx.cloakroom;
  /** Another instance of the fleet: same store and keys, its own manager. */
  const instance = () =>
    createCloakroom({
      store: ctx.spy.store,
      keys: keysFrom(ctx.material),
      issuer: ISSUER,
      audience: AUDIENCE,
      clock: clock.now,
      trustedIssuers: [idp.issuer],
    });
  const nowSec = () => Math.floor(clock.t / 1000);
  const live = new Set<string>();
  const spent = new Set<string>();
  let revoked = false;
  let n = 0;
  const stats = { refreshes: 0, reuse: 0 };
  const issueRt = () => {
    // Long and random: a test that scans events for it cannot match by chance.
    const rt = `rt-${++n}-${randomBytes(12).toString('hex')}`;
    live.add(rt);
    return rt;
  };
  const access = (sub = 'u1') => idp2.issue({ sub, iat: nowSec(), exp: nowSec() + TTL_SEC });
  /** The provider's token endpoint, as a refresher; `delayMs` real time per call. */
  const refresher =
    (delayMs = 0, rotate = true): UpstreamRefresher =>
    async (rt) => {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      if (spent.has(rt)) {
        stats.reuse++;
        revoked = true;
        return { rejected: 'invalid_grant' };
      }
      if (revoked || !live.has(rt)) return { rejected: 'invalid_grant' };
      stats.refreshes++;
      if (rotate) {
        live.delete(rt);
        spent.add(rt);
      }
      const tokens = {
        accessToken: await access(),
        ...(rotate ? { refreshToken: issueRt() } : {}),
      };
      return { tokens } satisfies UpstreamGrant;
    };
  const signIn = async () => {
    const made = await cloakroom.deposit(
      { accessToken: await access(), refreshToken: issueRt(), idToken: 'id.token.x' },
      { issuer: IDP },
    );
    return made.ticket;
  };
  return { ...ctx, cloakroom, clock, refresher, signIn, stats, access, nowSec, instance };
}

describe('refreshUpstream: the provider refresh token used once across the fleet (SEC-34)', () => {
  it('answers fresh without calling the provider while the token is far from expiry', async () => {
    const w = await world();
    const ticket = await w.signIn();
    const r = await w.cloakroom.refreshUpstream(ticket, w.refresher(), { earlyMs: 30_000 });
    expect(r.status).toBe('fresh');
    expect(w.stats.refreshes).toBe(0);
  });

  it('SEC-34 twenty concurrent callers on an expired token: one refresh, all get its token', async () => {
    const w = await world();
    const ticket = await w.signIn();
    w.clock.advance((TTL_SEC + 1) * 1000);
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        w.cloakroom.refreshUpstream(ticket, w.refresher(40), { leaseMs: 5_000 }),
      ),
    );
    expect(w.stats.refreshes).toBe(1);
    expect(w.stats.reuse).toBe(0);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 'refreshed')).toHaveLength(1);
    expect(statuses.filter((s) => s === 'joined')).toHaveLength(19);
    const tokens = new Set(results.map((r) => ('token' in r ? r.token : '')));
    expect(tokens.size).toBe(1);
    const session = await w.cloakroom.resolve(ticket);
    expect(session?.token).toBe([...tokens][0]);
    expect(session?.refreshToken).toMatch(/^rt-2-/);
    expect(session?.idToken).toBe('id.token.x');
    expect(session?.tokenExpired).toBeUndefined();
  });

  it('SEC-34 three instances, many rounds of expiry: every refresh token is presented once', async () => {
    const w = await world();
    const fleet = [w.cloakroom, w.instance(), w.instance()];
    const tickets = [await w.signIn(), await w.signIn()];
    for (let round = 0; round < 6; round++) {
      w.clock.advance((TTL_SEC - 10) * 1000);
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          (fleet[i % 3] ?? w.cloakroom).refreshUpstream(
            tickets[i % 2] as string,
            w.refresher(i % 5),
            { earlyMs: 20_000, leaseMs: 5_000 },
          ),
        ),
      );
      for (const r of results) expect(['refreshed', 'joined', 'fresh']).toContain(r.status);
    }
    expect(w.stats.reuse).toBe(0);
    expect(w.stats.refreshes).toBe(12); // 6 rounds × 2 sessions
  });

  it('keeps the refresh token when the provider does not rotate it', async () => {
    const w = await world();
    const ticket = await w.signIn();
    w.clock.advance((TTL_SEC + 1) * 1000);
    const r = await w.cloakroom.refreshUpstream(ticket, w.refresher(0, false));
    expect(r.status).toBe('refreshed');
    expect((await w.cloakroom.resolve(ticket))?.refreshToken).toMatch(/^rt-1-/);
  });

  it('invalid_grant revokes the session everywhere, with a session.revoked event', async () => {
    const w = await world();
    const ticket = await w.signIn();
    w.clock.advance((TTL_SEC + 1) * 1000);
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        w.cloakroom.refreshUpstream(ticket, async () => ({ rejected: 'invalid_grant' as const })),
      ),
    );
    expect(results.map((r) => r.status)).toContain('rejected');
    for (const r of results) expect(['rejected', 'missing']).toContain(r.status);
    expect(await w.cloakroom.resolve(ticket)).toBeNull();
    expect(w.events.some((e) => e.type === 'session.revoked')).toBe(true);
  });

  it('a provider that is down: unavailable, session kept, lease released for the next try', async () => {
    const w = await world();
    const ticket = await w.signIn();
    w.clock.advance((TTL_SEC + 1) * 1000);
    let calls = 0;
    const down: UpstreamRefresher = async () => {
      calls++;
      throw new Error('connect ECONNREFUSED');
    };
    const results = await Promise.all(
      Array.from({ length: 8 }, () => w.cloakroom.refreshUpstream(ticket, down)),
    );
    expect(calls).toBe(1);
    for (const r of results) {
      expect(r.status).toBe('unavailable');
      expect('tokenExpired' in r && r.tokenExpired).toBe(true);
    }
    expect(await w.cloakroom.resolve(ticket)).not.toBeNull();
    const retry = await w.cloakroom.refreshUpstream(ticket, w.refresher());
    expect(retry.status).toBe('refreshed');
  });

  it('a provider that never answers: aborted at timeoutMs, never a hang', async () => {
    const w = await world();
    const ticket = await w.signIn();
    w.clock.advance((TTL_SEC + 1) * 1000);
    let aborted = false;
    const hang: UpstreamRefresher = (_rt, { signal }) =>
      new Promise((_, reject) => {
        signal.addEventListener('abort', () => {
          aborted = true;
          reject(signal.reason);
        });
      });
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        w.cloakroom.refreshUpstream(ticket, hang, { leaseMs: 400, timeoutMs: 150 }),
      ),
    );
    expect(aborted).toBe(true);
    for (const r of results) expect(r.status).toBe('unavailable');
  });

  it('a lease whose holder died is taken over after it expires', async () => {
    const w = await world();
    const ticket = await w.signIn();
    w.clock.advance((TTL_SEC + 1) * 1000);
    let release: (() => void) | undefined;
    // The first holder stalls (as if its process froze) past its lease.
    const stalled: UpstreamRefresher = (rt, init) =>
      new Promise((resolve) => {
        release = () => resolve(w.refresher()(rt, init));
      });
    const first = w.cloakroom.refreshUpstream(ticket, stalled, {
      leaseMs: 60_000,
      timeoutMs: 50_000,
    });
    await new Promise((r) => setTimeout(r, 30));
    w.clock.advance(61_000);
    const second = await w.cloakroom.refreshUpstream(ticket, w.refresher(), { leaseMs: 5_000 });
    expect(second.status).toBe('refreshed');
    release?.();
    // The stalled holder's token was rotated away: the provider sees reuse and
    // revokes; documented outcome of a holder outliving its lease.
    const late = await first;
    expect(['unavailable', 'missing', 'rejected']).toContain(late.status);
  });

  it('a lease survives a concurrent touch (resolve) of the record', async () => {
    const w = await world();
    const ticket = await w.signIn();
    w.clock.advance((TTL_SEC + 1) * 1000);
    const slow = w.refresher(80);
    const pending = Promise.all([
      w.cloakroom.refreshUpstream(ticket, slow, { leaseMs: 30 * 60_000, timeoutMs: 20_000 }),
      w.cloakroom.refreshUpstream(ticket, slow, { leaseMs: 30 * 60_000, timeoutMs: 20_000 }),
    ]);
    await new Promise((r) => setTimeout(r, 20));
    // resolve writes the record (touch) while the lease is held.
    w.clock.advance(10 * 60_000);
    expect(await w.cloakroom.resolve(ticket)).not.toBeNull();
    expect(w.events.some((e) => e.type === 'session.touched' && !e.tokenRenewed)).toBe(true);
    const [a, b] = await pending;
    expect([a.status, b.status].sort()).toEqual(['joined', 'refreshed']);
    expect(w.stats.refreshes).toBe(1);
  });

  it('SEC-34 no event carries a provider token, whatever the outcome', async () => {
    const w = await world();
    const ticket = await w.signIn();
    const before = await w.cloakroom.resolve(ticket);
    w.clock.advance((TTL_SEC + 1) * 1000);
    const refreshed = await w.cloakroom.refreshUpstream(ticket, w.refresher());
    await w.cloakroom.refreshUpstream(
      ticket,
      async () => {
        throw new Error('down');
      },
      { force: true },
    );
    await w.cloakroom.refreshUpstream(
      ticket,
      async () => ({ rejected: 'invalid_grant' as const }),
      {
        force: true,
      },
    );
    const events = JSON.stringify(w.events);
    for (const secret of [
      before?.token,
      before?.refreshToken,
      'token' in refreshed ? refreshed.token : '',
      ticket,
    ]) {
      expect(secret).toBeTruthy();
      expect(events).not.toContain(secret as string);
    }
  });

  it('refuses bad options and answers missing for a session of our own', async () => {
    const w = await world();
    const ticket = await w.signIn();
    await expect(
      w.cloakroom.refreshUpstream(ticket, w.refresher(), { leaseMs: 100, timeoutMs: 200 }),
    ).rejects.toBeInstanceOf(InvalidArgument);
    const own = await w.cloakroom.create('local-user');
    expect((await w.cloakroom.refreshUpstream(own.ticket, w.refresher())).status).toBe('missing');
    expect((await w.cloakroom.refreshUpstream('garbage', w.refresher())).status).toBe('missing');
  });
});

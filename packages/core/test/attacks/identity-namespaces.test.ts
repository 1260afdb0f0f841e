import { describe, expect, it } from 'vitest';
import {
  AccessDenied,
  type Actor,
  type CloakroomEvent,
  createCloakroom,
  identityOf,
  ownSessionsOnly,
  rolePolicy,
  subjectIndex,
} from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';
import { rewriteAsTwoLayer } from '../crypto/record-forge';
import { AUDIENCE, ISSUER, keysFrom, makeKeyMaterial, setup } from '../support/fixtures';
import { type IdentityProvider, identityProvider } from '../support/identity-provider';

const IDP_A = 'https://idp-a.test';
const IDP_B = 'https://idp-b.test';

async function world(policy?: Parameters<typeof createCloakroom>[0]['policy']) {
  const a = await identityProvider(IDP_A);
  const b = await identityProvider(IDP_B);
  const token = (idp: IdentityProvider) => (sub: string) => {
    const iat = Math.floor(Date.now() / 1000);
    return idp.issue({ sub, iat, exp: iat + 3600 });
  };
  const ctx = await setup({
    trustedIssuers: [a.issuer, b.issuer],
    clock: Date.now,
    ...(policy === undefined ? {} : { policy }),
  });
  const { cloakroom } = ctx;
  const atA = await cloakroom.deposit({ accessToken: await token(a)('123') }, { issuer: IDP_A });
  const atB = await cloakroom.deposit({ accessToken: await token(b)('123') }, { issuer: IDP_B });
  const local = await cloakroom.create('123');
  return { ...ctx, atA, atB, local };
}

const actorA: Actor = { subject: '123', issuer: IDP_A };
const actorB: Actor = { subject: '123', issuer: IDP_B };
const actorLocal: Actor = { subject: '123' };

describe('SEC-29 identity namespaces: issuers', () => {
  it('SEC-29 issuer B\'s user "123" lists only its own session, and cannot list issuer A\'s or the local "123"', async () => {
    const { cloakroom, atA, atB, local } = await world();
    const own = await cloakroom.listSessions({ subject: '123', issuer: IDP_B }, actorB);
    expect(own.map((s) => s.sessionId)).toEqual([atB.sessionId]);
    await expect(cloakroom.listSessions({ subject: '123', issuer: IDP_A }, actorB)).rejects.toThrow(
      AccessDenied,
    );
    await expect(cloakroom.listSessions('123', actorB)).rejects.toThrow(AccessDenied);
    // The app's own "123" sees its one session, not the two deposited ones.
    const mine = await cloakroom.listSessions('123', actorLocal);
    expect(mine.map((s) => s.sessionId)).toEqual([local.sessionId]);
    expect(
      (await cloakroom.listSessions({ subject: '123', issuer: IDP_A }, actorA))[0]?.sessionId,
    ).toBe(atA.sessionId);
  });

  it('SEC-29 revokeSubject by issuer B\'s "123" leaves issuer A\'s and the local "123" signed in', async () => {
    const { cloakroom, atA, atB, local } = await world();
    await expect(
      cloakroom.revokeSubject({ subject: '123', issuer: IDP_A }, actorB),
    ).rejects.toThrow(AccessDenied);
    await expect(cloakroom.revokeSubject('123', actorB)).rejects.toThrow(AccessDenied);
    expect(await cloakroom.revokeSubject({ subject: '123', issuer: IDP_B }, actorB)).toBe(1);
    expect(await cloakroom.resolve(atB.ticket)).toBeNull();
    expect((await cloakroom.resolve(atA.ticket))?.issuer).toBe(IDP_A);
    const kept = await cloakroom.resolve(local.ticket);
    expect(kept?.subject).toBe('123');
    expect(kept?.issuer).toBeUndefined();
  });

  it("SEC-29 revokeSession by id refuses another namespace's session even when the subject matches", async () => {
    const { cloakroom, atA, local } = await world();
    // B's "123" names A's session id while acting as itself: its namespace has no such session.
    expect(
      await cloakroom.revokeSession({ subject: '123', issuer: IDP_B }, atA.sessionId, actorB),
    ).toBe(false);
    expect(await cloakroom.revokeSession('123', atA.sessionId, actorLocal)).toBe(false);
    expect(await cloakroom.resolve(atA.ticket)).not.toBeNull();
    expect(await cloakroom.revokeSession('123', local.sessionId, actorLocal)).toBe(true);
  });

  it('SEC-29 identityOf(session) is the actor and the subject of a user\'s own "sign out everywhere"', async () => {
    const { cloakroom, atB, atA } = await world();
    const session = await cloakroom.resolve(atB.ticket);
    if (session === null) throw new Error('expected a session');
    expect(identityOf(session)).toEqual({ subject: '123', issuer: IDP_B });
    expect(await cloakroom.revokeSubject(identityOf(session), identityOf(session))).toBe(1);
    expect(await cloakroom.resolve(atA.ticket)).not.toBeNull();
  });

  it('SEC-29 ownSessionsOnly and rolePolicy compare the issuer as well as the subject', async () => {
    for (const policy of [
      ownSessionsOnly(),
      rolePolicy({ roles: {}, everyone: ['session.*', 'subject.*'] }),
    ]) {
      const { cloakroom, atA } = await world(policy);
      await expect(
        cloakroom.listSessions({ subject: '123', issuer: IDP_A }, actorB),
      ).rejects.toThrow(AccessDenied);
      await expect(
        cloakroom.revokeSession({ subject: '123', issuer: IDP_A }, atA.sessionId, actorLocal),
      ).rejects.toThrow(AccessDenied);
      expect(await cloakroom.listSessions({ subject: '123', issuer: IDP_A }, actorA)).toHaveLength(
        1,
      );
    }
  });

  it('SEC-29 the subject.revoked event names the issuer and a namespaced index, never the subject', async () => {
    const { cloakroom, events } = await world();
    await cloakroom.revokeSubject({ subject: '123', issuer: IDP_A }, actorA);
    await cloakroom.revokeSubject('123', actorLocal);
    const revoked = events.filter(
      (e): e is Extract<CloakroomEvent, { type: 'subject.revoked' }> =>
        e.type === 'subject.revoked',
    );
    expect(revoked.map((e) => e.issuer)).toEqual([IDP_A, undefined]);
    expect(revoked[0]?.subjectIndex).not.toBe(revoked[1]?.subjectIndex);
    expect(JSON.stringify(revoked)).not.toContain('"123"');
  });

  it('SEC-29 a malformed subject reference is InvalidArgument, before the policy or the store', async () => {
    const { cloakroom, spy } = await world();
    const before = spy.calls.listBySubject ?? 0;
    for (const bad of [{ subject: '' }, { subject: '123', issuer: '' }, { subject: 5 }, null]) {
      await expect(cloakroom.listSessions(bad as never, actorLocal)).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
      });
    }
    expect(spy.calls.listBySubject ?? 0).toBe(before);
  });
});

describe('SEC-29 identity namespaces: tenants sharing one store and keys', () => {
  it('SEC-29 tenant "a" user "123" neither lists nor revokes tenant "b" user "123"', async () => {
    const material = await makeKeyMaterial();
    const store = createMemoryStore();
    const make = (tenant: string) =>
      createCloakroom({
        store,
        keys: keysFrom(material),
        issuer: ISSUER,
        audience: AUDIENCE,
        tenant,
      });
    const a = make('a');
    const b = make('b');
    const inA = await a.create('123');
    const inB = await b.create('123');
    expect((await a.listSessions('123', actorLocal)).map((s) => s.sessionId)).toEqual([
      inA.sessionId,
    ]);
    expect(await a.revokeSubject('123', actorLocal)).toBe(1);
    expect(await a.revokeSession('123', inB.sessionId, actorLocal)).toBe(false);
    expect((await b.resolve(inB.ticket))?.subject).toBe('123');
    expect(await b.listSessions('123', actorLocal)).toHaveLength(1);
  });

  it('SEC-29 a tenant name outside [A-Za-z0-9._-]{1,64} is ConfigInvalid', async () => {
    const material = await makeKeyMaterial();
    for (const tenant of ['', 'a b', 'x'.repeat(65), 'é']) {
      expect(() =>
        createCloakroom({
          store: createMemoryStore(),
          keys: keysFrom(material),
          issuer: ISSUER,
          audience: AUDIENCE,
          tenant,
        }),
      ).toThrow(expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }));
    }
  });
});

describe('SEC-29 records written before namespaces', () => {
  // Re-index a record the way the previous release wrote it: HMAC of the bare
  // subject under the index key, in the two-layer format of that release.
  async function makeLegacy(
    ctx: Awaited<ReturnType<typeof world>>,
    session: { sessionId: string; ticket: string },
    subject: string,
  ) {
    const keys = keysFrom(ctx.material);
    const legacy = subjectIndex(subject, await keys.indexKey());
    await rewriteAsTwoLayer(ctx.memory, keys, session.ticket, session.sessionId, legacy);
  }

  it('SEC-29 legacy local and deposited sessions still resolve, and list and revoke within their own namespace only', async () => {
    const ctx = await world();
    const { cloakroom, atA, atB, local } = ctx;
    for (const s of [atA, atB, local]) await makeLegacy(ctx, s, '123');
    // All three now share one legacy index, as they did before the change.
    expect((await cloakroom.resolve(local.ticket))?.subject).toBe('123');
    expect((await cloakroom.resolve(atA.ticket))?.issuer).toBe(IDP_A);
    expect((await cloakroom.listSessions('123', actorLocal)).map((s) => s.sessionId)).toEqual([
      local.sessionId,
    ]);
    expect(await cloakroom.revokeSession('123', atB.sessionId, actorLocal)).toBe(false);
    expect(await cloakroom.revokeSubject({ subject: '123', issuer: IDP_A }, actorA)).toBe(1);
    expect(await cloakroom.resolve(atA.ticket)).toBeNull();
    expect(await cloakroom.resolve(atB.ticket)).not.toBeNull();
    expect(await cloakroom.resolve(local.ticket)).not.toBeNull();
    expect(await cloakroom.revokeSession('123', local.sessionId, actorLocal)).toBe(true);
  });
});

describe('revokeSubject counts what a user calls sessions (#14.5)', () => {
  it('two sign-ins and one refresh: listSessions shows 2, revokeSubject answers 2, the event counts 3 records', async () => {
    const { cloakroom, events } = await setup({ clock: Date.now });
    const first = await cloakroom.create('alice');
    await cloakroom.create('alice');
    expect(await cloakroom.refresh(first.ticket)).not.toBeNull();
    expect(await cloakroom.listSessions('alice', { subject: 'alice' })).toHaveLength(2);
    expect(await cloakroom.revokeSubject('alice', { subject: 'alice' })).toBe(2);
    const event = events.find((e) => e.type === 'subject.revoked');
    expect(event).toMatchObject({ count: 2, records: 3 });
    expect(await cloakroom.listSessions('alice', { subject: 'alice' })).toHaveLength(0);
  });
});

describe('the denial of a subject action says what actor is needed (#15)', () => {
  it('no actor: the message says to pass the signed-in user, without naming the subject', async () => {
    const { cloakroom } = await setup();
    await cloakroom.create('alice@example.com');
    for (const call of [
      () => cloakroom.listSessions('alice@example.com'),
      () => cloakroom.revokeSubject('alice@example.com'),
    ]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(AccessDenied);
      expect((error as Error).message).toContain('pass the signed-in user as the actor');
      expect((error as Error).message).not.toContain('alice');
    }
    const other = await cloakroom
      .listSessions('bob', { subject: 'alice@example.com' })
      .catch((e) => e);
    expect((other as Error).message).toContain('not this subject');
  });
});

describe("subjectIndexOf finds a user's audit events in their namespace", () => {
  it('SEC-29 the index it gives is the one the events of that identity carry, and differs per namespace', async () => {
    const { cloakroom, events, atA } = await world();
    const local = await cloakroom.subjectIndexOf('123');
    const fromA = await cloakroom.subjectIndexOf({ subject: '123', issuer: IDP_A });
    expect(local).not.toBe(fromA);
    const created = events.filter((e) => e.type === 'session.created');
    const aEvent = created.find((e) => 'sessionId' in e && e.sessionId === atA.sessionId);
    expect(aEvent).toMatchObject({ subjectIndex: fromA });
    await expect(cloakroom.subjectIndexOf({ subject: '' })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
  });
});

// #15.2: create/resolve/refresh are generic over the claims type, so a typed
// app needs no casts. These assertions are checked by `pnpm typecheck`
// (tsc over the tests); the runtime half proves the values match the types.
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  type Cloakroom,
  type DepositedSession,
  type OwnSession,
  type ResolvedSession,
  createCloakroom,
  identityOf,
} from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';
import { AUDIENCE, ISSUER, keysFrom, makeKeyMaterial } from '../support/fixtures';

interface AppClaims {
  role: 'admin' | 'editor';
  org: string;
  beta?: boolean;
}
interface ProviderClaims {
  email: string;
}

async function typed() {
  return createCloakroom<AppClaims>({
    store: createMemoryStore(),
    keys: keysFrom(await makeKeyMaterial()),
    issuer: ISSUER,
    audience: AUDIENCE,
  });
}

describe('typed claims (#15.2)', () => {
  it('create takes C (required when C has required members), resolve returns it typed, with no cast', async () => {
    const cloakroom = await typed();
    const { ticket } = await cloakroom.create('u1', { role: 'editor', org: 'acme' });
    const session = await cloakroom.resolve(ticket);
    expectTypeOf(session).toEqualTypeOf<ResolvedSession<AppClaims, never> | null>();
    if (session === null) throw new Error('expected a session');
    expectTypeOf(session.claims.role).toEqualTypeOf<'admin' | 'editor'>();
    expectTypeOf(session.claims.beta).toEqualTypeOf<boolean | undefined>();
    expect(session.claims.role).toBe('editor');
    expect(session.claims.org).toBe('acme');

    // @ts-expect-error claims are required: AppClaims has required members
    await expect(cloakroom.create('u2')).resolves.toMatchObject({ ticket: expect.any(String) });
    // @ts-expect-error role must be one of the declared values
    await cloakroom.create('u3', { role: 'root', org: 'acme' });
    // @ts-expect-error org is missing
    await cloakroom.create('u4', { role: 'admin' });
  });

  it('claims may be left out when every member of C is optional', async () => {
    const cloakroom = createCloakroom<{ beta?: boolean }>({
      store: createMemoryStore(),
      keys: keysFrom(await makeKeyMaterial()),
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    const { ticket } = await cloakroom.create('u1');
    expect((await cloakroom.resolve(ticket))?.claims.beta).toBeUndefined();
    // @ts-expect-error beta is a boolean
    await cloakroom.create('u2', { beta: 'yes' });
  });

  it('refresh takes C; a manager typed without deposited claims refuses deposit at compile time', async () => {
    const cloakroom = await typed();
    const { ticket } = await cloakroom.create('u1', { role: 'editor', org: 'acme' });
    const next = await cloakroom.refresh(ticket, { claims: { role: 'admin', org: 'acme' } });
    expect((await cloakroom.resolve(next?.ticket))?.claims.role).toBe('admin');
    // @ts-expect-error refresh's claims are C too
    await cloakroom.refresh(next?.ticket, { claims: { role: 'nobody' } }).catch(() => null);
    const depositArgs = [{ accessToken: 'x' }, { issuer: 'i' }] as const;
    // @ts-expect-error declare the deposited claims type to use deposit
    await cloakroom.deposit(...depositArgs).catch(() => null);
  });

  it('with a deposited claims type, resolve is a union that `issuer === undefined` narrows', () => {
    type M = Cloakroom<AppClaims, ProviderClaims>;
    type R = NonNullable<Awaited<ReturnType<M['resolve']>>>;
    expectTypeOf<R>().toEqualTypeOf<OwnSession<AppClaims> | DepositedSession<ProviderClaims>>();
    const use = (s: R) => {
      if (s.issuer === undefined) {
        expectTypeOf(s.claims.role).toEqualTypeOf<'admin' | 'editor'>();
      } else {
        expectTypeOf(s.claims.email).toEqualTypeOf<string>();
        expectTypeOf(s.refreshToken).toEqualTypeOf<string | undefined>();
      }
      // Fields of either kind read without narrowing.
      expectTypeOf(s.tokenExpired).toEqualTypeOf<true | undefined>();
      return identityOf(s);
    };
    expect(typeof use).toBe('function');
  });

  it("an untyped manager keeps today's types: claims are a JSON object, deposit is allowed", async () => {
    const cloakroom = createCloakroom({
      store: createMemoryStore(),
      keys: keysFrom(await makeKeyMaterial()),
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    const { ticket } = await cloakroom.create('u1');
    const session = await cloakroom.resolve(ticket);
    expectTypeOf(session?.claims).toEqualTypeOf<Readonly<Record<string, unknown>> | undefined>();
    expect(session?.claims).toEqual({});
    expectTypeOf(cloakroom.deposit).parameter(0).toEqualTypeOf<{
      readonly accessToken: string;
      readonly refreshToken?: string;
      readonly idToken?: string;
    }>();
  });
});

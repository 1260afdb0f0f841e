// The one place the recipe tests build a Cloakroom: fresh keys, a memory
// store, and a switch that makes the store fail like an unreachable backend.
import {
  type Cloakroom,
  type SessionStore,
  StoreUnavailable,
  createCloakroom,
  generateSecret,
  generateSigningKey,
  staticKeys,
  timingSafeEqual,
} from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';

/** The fake user directory the recipes check passwords against. */
export const USERS = {
  alice: 'correct horse battery staple',
  bob: 'tr0ub4dor&3',
} as const;

/** A stand-in for a real password check (a user table and scrypt/argon2 hashes). */
export async function verifyPassword(username: string, password: string): Promise<boolean> {
  const expected: string | undefined = Object.hasOwn(USERS, username)
    ? USERS[username as keyof typeof USERS]
    : undefined;
  return expected !== undefined && timingSafeEqual(password, expected);
}

export interface Fixture {
  readonly cloakroom: Cloakroom<{ elevated: boolean }>;
  /** While true, every store call throws `StoreUnavailable`, as a down Redis or Postgres would. */
  outage: boolean;
}

/** A memory store whose every call fails with `StoreUnavailable` while `fixture.outage` is set. */
function outageStore(inner: SessionStore, fixture: { outage: boolean }): SessionStore {
  const guard = <A extends unknown[], R>(call: (...args: A) => Promise<R>) => {
    return async (...args: A): Promise<R> => {
      if (fixture.outage) {
        throw new StoreUnavailable('test outage: the store does not answer', {
          cause: new Error('ECONNREFUSED'),
        });
      }
      return call(...args);
    };
  };
  return {
    name: 'memory-with-outage',
    capabilities: inner.capabilities,
    insert: guard((record) => inner.insert(record)),
    get: guard((id) => inner.get(id)),
    replace: guard((record, expected) => inner.replace(record, expected)),
    rotate: guard((old, next) => inner.rotate(old, next)),
    delete: guard((id) => inner.delete(id)),
    deleteBySubject: guard((subject) => inner.deleteBySubject(subject)),
    listBySubject: guard((subject) => inner.listBySubject(subject)),
    scan: guard((options) => inner.scan(options)),
    close: () => inner.close(),
  };
}

/** A Cloakroom over fresh keys and a memory store that can be switched off. */
export async function createFixture(): Promise<Fixture> {
  const signing = await generateSigningKey('EdDSA');
  const fixture = { outage: false } as { -readonly [K in keyof Fixture]: Fixture[K] };
  fixture.cloakroom = createCloakroom<{ elevated: boolean }>({
    store: outageStore(createMemoryStore({ sweepIntervalMs: 0 }), fixture),
    keys: staticKeys({
      signing: [{ alg: 'EdDSA', privateKey: signing.privateJwk }],
      storage: [{ key: generateSecret() }],
      index: generateSecret(),
    }),
    issuer: 'https://auth.example.test',
    audience: 'https://api.example.test',
  });
  return fixture;
}

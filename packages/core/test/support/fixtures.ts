// Test fixtures for the session manager: real keys, the real memory store,
// a controllable clock, and a store wrapper that records calls.
import {
  type CloakroomEvent,
  type CloakroomOptions,
  type SessionRecord,
  type SessionStore,
  createCloakroom,
  generateSecret,
  generateSigningKey,
  staticKeys,
} from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';

export const ISSUER = 'https://issuer.test';
export const AUDIENCE = 'https://api.test';

export async function makeKeyMaterial() {
  const signing = await generateSigningKey('EdDSA');
  return { signing, storage: generateSecret(), index: generateSecret() };
}

export type KeyMaterial = Awaited<ReturnType<typeof makeKeyMaterial>>;

export function keysFrom(m: KeyMaterial) {
  return staticKeys({
    signing: [{ alg: 'EdDSA', privateKey: m.signing.privateJwk }],
    storage: [{ key: m.storage }],
    index: m.index,
  });
}

export class Clock {
  constructor(public t = Date.UTC(2026, 0, 1, 12, 0, 0, 250)) {}
  now = () => this.t;
  advance(ms: number) {
    this.t += ms;
  }
}

/** Wraps a store and counts calls per method; `fail` makes every call throw the given error. */
export function spyStore(inner: SessionStore) {
  const calls: Record<string, number> = {};
  let fail: Error | undefined;
  const wrap =
    <K extends keyof SessionStore>(name: K) =>
    // biome-ignore lint/suspicious/noExplicitAny: generic pass-through
    async (...args: any[]) => {
      calls[name] = (calls[name] ?? 0) + 1;
      if (fail) throw fail;
      // biome-ignore lint/suspicious/noExplicitAny: generic pass-through
      return (inner[name] as any)(...args);
    };
  const store: SessionStore = {
    name: 'spy',
    capabilities: inner.capabilities,
    insert: wrap('insert'),
    get: wrap('get'),
    replace: wrap('replace'),
    rotate: wrap('rotate'),
    delete: wrap('delete'),
    deleteBySubject: wrap('deleteBySubject'),
    listBySubject: wrap('listBySubject'),
    scan: wrap('scan'),
    ...(inner.insertWithLimit === undefined ? {} : { insertWithLimit: wrap('insertWithLimit') }),
    close: () => inner.close(),
  };
  return {
    store,
    inner,
    calls,
    setFailure(error: Error | undefined) {
      fail = error;
    },
  };
}

/** Every record in the store, by scanning. */
export async function dump(store: SessionStore): Promise<SessionRecord[]> {
  const out: SessionRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.scan(cursor === undefined ? { limit: 100 } : { cursor, limit: 100 });
    out.push(...page.records);
    cursor = page.cursor;
  } while (cursor !== undefined);
  return out;
}

export async function setup(overrides: Partial<CloakroomOptions> = {}, material?: KeyMaterial) {
  const m = material ?? (await makeKeyMaterial());
  const clock = new Clock();
  const memory = createMemoryStore({ clock: () => clock.t });
  const spy = spyStore(memory);
  const events: CloakroomEvent[] = [];
  const cloakroom = createCloakroom({
    store: spy.store,
    keys: keysFrom(m),
    issuer: ISSUER,
    audience: AUDIENCE,
    clock: clock.now,
    onEvent: (e) => events.push(e),
    ...overrides,
  });
  return { cloakroom, clock, spy, events, material: m, memory };
}

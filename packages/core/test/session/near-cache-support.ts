// A test double of an invalidation *channel* over the real memory store: the
// records live in one real memory store; each "instance" is a view of it
// whose writes announce the ids they changed to every instance's listener,
// as Redis CLIENT TRACKING or PostgreSQL LISTEN/NOTIFY would. The test holds
// the controls a real channel hides: liveness, delayed delivery, and a
// pausable `get` for race tests.
import {
  type CloakroomEvent,
  type CloakroomOptions,
  type InvalidationChannel,
  type InvalidationListener,
  type SessionRecord,
  type SessionStore,
  StoreUnavailable,
  createCloakroom,
} from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';
import {
  AUDIENCE,
  Clock,
  ISSUER,
  type KeyMaterial,
  keysFrom,
  makeKeyMaterial,
} from '../support/fixtures';

interface Subscriber {
  listener: InvalidationListener;
  live: boolean;
  closed: boolean;
}

/** The shared bus: the channel's server side. */
export class InvalidationBus {
  readonly subscribers: Subscriber[] = [];
  /** When set, announcements wait in `queued` until `flush()` (a slow channel). */
  hold = false;
  readonly queued: (() => void)[] = [];
  /** How many times watch() failed on purpose before succeeding. */
  failWatches = 0;
  /** Writes happen, but their acknowledgement is lost: the caller gets an error. */
  loseAcks = false;
  watchCalls = 0;

  announce(ids: readonly string[], reset = false): void {
    const deliver = () => {
      for (const s of this.subscribers) {
        if (s.closed) continue;
        if (reset) s.listener.reset();
        else for (const id of ids) s.listener.invalidate(id);
      }
    };
    if (this.hold) this.queued.push(deliver);
    else deliver();
  }

  flush(): void {
    for (const deliver of this.queued.splice(0)) deliver();
  }

  /** Every channel loses its connection: reset, then not live. */
  drop(): void {
    for (const s of this.subscribers) {
      if (s.closed) continue;
      s.live = false;
      s.listener.reset();
    }
  }

  /** Every channel can vouch again (a real one resets on reconnect). */
  restore(): void {
    for (const s of this.subscribers) {
      if (s.closed) continue;
      s.listener.reset();
      s.live = true;
    }
  }
}

/** A pausable gate for `get`: while paused, reads wait until `release()`. */
export class GetGate {
  paused = false;
  private waiting: (() => void)[] = [];
  /** Resolves once a read is waiting at the gate. */
  private arrived: (() => void) | undefined;
  wait(): Promise<void> {
    this.arrived?.();
    return new Promise((resolve) => this.waiting.push(resolve));
  }
  /** Resolves when the next read reaches the paused gate. */
  nextArrival(): Promise<void> {
    return new Promise((resolve) => {
      this.arrived = resolve;
    });
  }
  release(): void {
    this.paused = false;
    for (const go of this.waiting.splice(0)) go();
  }
}

/** One instance's view of the shared memory store, with `watch`. */
export function watchedStore(
  inner: SessionStore,
  bus: InvalidationBus,
  opts: { gate?: GetGate; boundMs?: number } = {},
): SessionStore & { readonly gets: { n: number } } {
  const gets = { n: 0 };
  return {
    name: 'watched-memory',
    capabilities: { ...inner.capabilities, shared: true },
    gets,
    insert: (r: SessionRecord) => inner.insert(r),
    async insertWithLimit(r, limit) {
      if (inner.insertWithLimit === undefined)
        throw new Error('inner store has no insertWithLimit');
      const outcome = await inner.insertWithLimit(r, limit);
      if (outcome.inserted && outcome.evicted.length > 0) bus.announce([...outcome.evicted]);
      return outcome;
    },
    async get(id) {
      gets.n++;
      const record = await inner.get(id);
      if (opts.gate?.paused) await opts.gate.wait();
      return record;
    },
    async replace(r, v) {
      const ok = await inner.replace(r, v);
      if (ok) bus.announce([r.id]);
      return ok;
    },
    async rotate(old, next) {
      const ok = await inner.rotate(old, next);
      if (ok) bus.announce([old.record.id, next.id]);
      return ok;
    },
    async delete(id) {
      const ok = await inner.delete(id);
      if (ok) bus.announce([id]);
      if (bus.loseAcks) throw new StoreUnavailable('the acknowledgement was lost');
      return ok;
    },
    async deleteBySubject(subject) {
      const n = await inner.deleteBySubject(subject);
      if (n > 0) bus.announce([], true);
      return n;
    },
    listBySubject: (s) => inner.listBySubject(s),
    scan: (o) => inner.scan(o),
    async watch(listener): Promise<InvalidationChannel> {
      bus.watchCalls++;
      if (bus.failWatches > 0) {
        bus.failWatches--;
        throw new Error('channel refused');
      }
      const sub: Subscriber = { listener, live: true, closed: false };
      bus.subscribers.push(sub);
      return {
        get live() {
          return sub.live && !sub.closed;
        },
        boundMs: opts.boundMs ?? 5,
        async close() {
          sub.closed = true;
        },
      };
    },
    close: async () => undefined,
  };
}

/** Two instances (A and B) of one app over one shared store and one channel bus. */
export async function fleet(overrides: Partial<CloakroomOptions> = {}, material?: KeyMaterial) {
  const m = material ?? (await makeKeyMaterial());
  const clock = new Clock();
  const memory = createMemoryStore({ clock: () => clock.t });
  const bus = new InvalidationBus();
  const gateA = new GetGate();
  const gateB = new GetGate();
  const storeA = watchedStore(memory, bus, { gate: gateA });
  const storeB = watchedStore(memory, bus, { gate: gateB });
  const events: CloakroomEvent[] = [];
  const make = (store: typeof storeA) =>
    createCloakroom({
      store,
      keys: keysFrom(m),
      issuer: ISSUER,
      audience: AUDIENCE,
      clock: clock.now,
      nearCache: true,
      onEvent: (e) => events.push(e),
      ...overrides,
    });
  const a = make(storeA);
  const b = make(storeB);
  return { a, b, storeA, storeB, bus, gateA, gateB, clock, memory, events, material: m };
}

/** Resolves until the channel is set up and the session is cached (the first resolve starts `watch`). */
export async function warm(
  cloakroom: { resolve(t: string): Promise<unknown> },
  ticket: string,
): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await cloakroom.resolve(ticket);
    await new Promise((r) => setImmediate(r));
  }
}

// Attacks on the ticket paths (resolve, refresh, revoke): every way a ticket
// can fail looks the same to the caller (SEC-13), through the public API and
// the real memory store. An attacker here holds store write access (to flip,
// transplant or copy records) or a ticket that should no longer work.
import {
  type CloakroomEvent,
  type SessionRecord,
  type SessionStore,
  StoreUnavailable,
  createCloakroom,
  generateSecret,
  generateTicket,
  isCloakroomError,
} from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';
import { describe, expect, it } from 'vitest';
import {
  AUDIENCE,
  Clock,
  ISSUER,
  dump,
  keysFrom,
  makeKeyMaterial,
  setup,
} from '../support/fixtures';

type Op = 'resolve' | 'refresh' | 'revoke' | 'replaceTokens';
const OPS: readonly Op[] = ['resolve', 'refresh', 'revoke'];
// Failures found while reading the record: every ticket path, replaceTokens included.
const LOAD_OPS: readonly Op[] = [...OPS, 'replaceTokens'];
const MIN = 60_000;

interface Arranged {
  /** Runs the operation on the attacked ticket. */
  readonly run: (op: Op) => Promise<unknown>;
  readonly events: CloakroomEvent[];
}

async function recordOf(store: SessionStore, id: string): Promise<SessionRecord> {
  const found = (await dump(store)).find((r) => r.id === id);
  if (found === undefined) throw new Error('record missing');
  return found;
}

function runner(
  app: ReturnType<typeof createCloakroom>,
  ticket: unknown,
): (op: Op) => Promise<unknown> {
  return (op) => {
    if (op === 'resolve') return app.resolve(ticket);
    if (op === 'refresh') return app.refresh(ticket);
    if (op === 'revoke') return app.revoke(ticket);
    return app.replaceTokens(ticket, { accessToken: 'eyJhbGciOiJFUzI1NiJ9.e30.c2ln' });
  };
}

/** Each attack, arranged fresh for one operation. `reason` is what only the audit event may say. */
const ATTACKS: Record<
  string,
  { readonly reason: string; readonly ops: readonly Op[]; arrange(): Promise<Arranged> }
> = {
  'malformed ticket': {
    reason: 'malformed',
    ops: LOAD_OPS,
    async arrange() {
      const { cloakroom, events } = await setup();
      return { run: runner(cloakroom, `cr1_${'!'.repeat(43)}`), events };
    },
  },
  'unknown ticket': {
    reason: 'missing',
    ops: LOAD_OPS,
    async arrange() {
      const { cloakroom, events } = await setup();
      return { run: runner(cloakroom, generateTicket()), events };
    },
  },
  'revoked ticket': {
    reason: 'missing',
    ops: LOAD_OPS,
    async arrange() {
      const { cloakroom, events } = await setup();
      const { ticket } = await cloakroom.create('victim');
      await cloakroom.revoke(ticket);
      events.length = 0;
      return { run: runner(cloakroom, ticket), events };
    },
  },
  'expired session the store still returns (store clock behind)': {
    reason: 'expired',
    ops: ['resolve', 'refresh'],
    async arrange() {
      const m = await makeKeyMaterial();
      const clock = new Clock();
      const frozen = clock.t;
      const events: CloakroomEvent[] = [];
      const app = createCloakroom({
        store: createMemoryStore({ clock: () => frozen }),
        keys: keysFrom(m),
        issuer: ISSUER,
        audience: AUDIENCE,
        clock: clock.now,
        ttl: { idle: 10 * MIN, absolute: 60 * MIN },
        onEvent: (e) => events.push(e),
      });
      const { ticket } = await app.create('victim');
      clock.advance(10 * MIN);
      return { run: runner(app, ticket), events };
    },
  },
  'one flipped payload byte': {
    reason: 'tampered',
    ops: LOAD_OPS,
    async arrange() {
      const { cloakroom, memory, events } = await setup();
      const victim = await cloakroom.create('victim');
      const rec = await recordOf(memory, victim.sessionId);
      const payload = rec.payload.slice();
      payload[payload.length - 1] = (payload[payload.length - 1] ?? 0) ^ 0x80;
      await memory.replace({ ...rec, version: rec.version + 1, payload }, rec.version);
      return { run: runner(cloakroom, victim.ticket), events };
    },
  },
  'payload transplanted from another session of the same subject': {
    reason: 'tampered',
    ops: LOAD_OPS,
    async arrange() {
      const { cloakroom, memory, events } = await setup();
      const donor = await cloakroom.create('victim');
      const victim = await cloakroom.create('victim');
      const from = await recordOf(memory, donor.sessionId);
      const to = await recordOf(memory, victim.sessionId);
      await memory.replace({ ...to, version: to.version + 1, payload: from.payload }, to.version);
      return { run: runner(cloakroom, victim.ticket), events };
    },
  },
  'record moved under another subject index': {
    reason: 'tampered',
    ops: LOAD_OPS,
    async arrange() {
      const { cloakroom, memory, events } = await setup();
      const victim = await cloakroom.create('victim');
      const other = await cloakroom.create('attacker');
      const rec = await recordOf(memory, victim.sessionId);
      const theirs = await recordOf(memory, other.sessionId);
      await memory.delete(rec.id);
      await memory.insert({ ...rec, subject: theirs.subject });
      return { run: runner(cloakroom, victim.ticket), events };
    },
  },
  'payload under a storage key this instance does not hold': {
    reason: 'tampered',
    ops: LOAD_OPS,
    async arrange() {
      const m = await makeKeyMaterial();
      const { cloakroom, memory, clock } = await setup({}, m);
      const { ticket } = await cloakroom.create('victim');
      const events: CloakroomEvent[] = [];
      const other = createCloakroom({
        store: memory,
        keys: keysFrom({ ...m, storage: generateSecret() }),
        issuer: ISSUER,
        audience: AUDIENCE,
        clock: clock.now,
        onEvent: (e) => events.push(e),
      });
      return { run: runner(other, ticket), events };
    },
  },
  'token signed by a disabled signing key': {
    reason: 'key-disabled',
    // Revoke (logout) deliberately still works on such a session.
    ops: ['resolve', 'refresh'],
    async arrange() {
      const m = await makeKeyMaterial();
      const { cloakroom, memory, clock } = await setup({}, m);
      const { ticket } = await cloakroom.create('victim');
      const replacement = await makeKeyMaterial();
      const events: CloakroomEvent[] = [];
      const other = createCloakroom({
        store: memory,
        keys: keysFrom({ ...m, signing: replacement.signing }),
        issuer: ISSUER,
        audience: AUDIENCE,
        clock: clock.now,
        onEvent: (e) => events.push(e),
      });
      return { run: runner(other, ticket), events };
    },
  },
  'rotated ticket after its grace window (reuse)': {
    reason: 'reuse',
    // Revoke of a rotated ticket logs out its successors too (it returns true).
    ops: ['resolve', 'refresh'],
    async arrange() {
      const { cloakroom, clock, events } = await setup({ refreshGraceMs: 1000 });
      const { ticket } = await cloakroom.create('victim');
      await cloakroom.refresh(ticket);
      clock.advance(1000);
      events.length = 0;
      return { run: runner(cloakroom, ticket), events };
    },
  },
};

const failedValue = (op: Op) => (op === 'revoke' || op === 'replaceTokens' ? false : null);
// replaceTokens reports under the refresh operation (it is a refresh of provider tokens).
const eventOperation = (op: Op) => (op === 'replaceTokens' ? 'refresh' : op);

describe('SEC-13 every failure looks the same to the caller on every ticket path', () => {
  for (const [attack, spec] of Object.entries(ATTACKS)) {
    for (const op of spec.ops) {
      it(`SEC-13 ${op}: ${attack} gives ${String(failedValue(op))}, the reason only in the event`, async () => {
        const { run, events } = await spec.arrange();
        let result: unknown;
        try {
          result = await run(op);
        } catch (error) {
          throw new Error(
            `${op} threw instead of answering like any other failure: ${String(error)}`,
          );
        }
        expect(result).toBe(failedValue(op));
        if (spec.reason === 'reuse') {
          expect(events.map((e) => e.type)).toContain('session.reuse_detected');
        } else {
          const rejected = events.filter((e) => e.type === 'session.rejected');
          expect(rejected.length).toBeGreaterThan(0);
          expect(rejected.at(-1)).toMatchObject({
            operation: eventOperation(op),
            reason: spec.reason,
          });
        }
      });
    }
  }

  it('SEC-13 the caller gets nothing that tells the reasons apart: same value, no error, no extra fields', async () => {
    const seen = new Map<Op, Set<string>>(LOAD_OPS.map((op) => [op, new Set<string>()]));
    for (const spec of Object.values(ATTACKS)) {
      for (const op of spec.ops) {
        const { run } = await spec.arrange();
        seen.get(op)?.add(JSON.stringify(await run(op)));
      }
    }
    expect([...(seen.get('resolve') ?? [])]).toEqual(['null']);
    expect([...(seen.get('refresh') ?? [])]).toEqual(['null']);
    expect([...(seen.get('revoke') ?? [])]).toEqual(['false']);
    expect([...(seen.get('replaceTokens') ?? [])]).toEqual(['false']);
  });

  it('SEC-13 a store outage is not disguised as a missing session: it throws StoreUnavailable', async () => {
    const { cloakroom, spy } = await setup();
    const { ticket } = await cloakroom.create('u');
    spy.setFailure(new StoreUnavailable('backend down'));
    for (const op of OPS) {
      const error = await runner(cloakroom, ticket)(op).catch((e: unknown) => e);
      expect(isCloakroomError(error) && error.code).toBe('ERR_STORE_UNAVAILABLE');
    }
  });
});

describe('SEC-06 a stolen ticket against refresh rotation', () => {
  it('SEC-06 a thief who refreshes a stolen ticket loses the session as soon as the victim comes back after the grace window', async () => {
    const { cloakroom, clock, events } = await setup({ refreshGraceMs: 5_000 });
    const { ticket: stolen } = await cloakroom.create('victim');
    const thief = await cloakroom.refresh(stolen);
    expect((await cloakroom.resolve(thief?.ticket))?.subject).toBe('victim');
    clock.advance(5_000);
    // The victim still holds the old ticket: presenting it is reuse.
    expect(await cloakroom.resolve(stolen)).toBeNull();
    expect(events.some((e) => e.type === 'session.reuse_detected')).toBe(true);
    expect(await cloakroom.resolve(thief?.ticket)).toBeNull();
    expect(await cloakroom.refresh(thief?.ticket)).toBeNull();
  });

  it('SEC-06 chained refreshes by a thief are all revoked by one reuse of the first ticket', async () => {
    const { cloakroom, clock } = await setup({ refreshGraceMs: 1_000 });
    const { ticket: first } = await cloakroom.create('victim');
    let current = first;
    const chain: string[] = [];
    for (let i = 0; i < 5; i++) {
      clock.advance(1_000);
      const next = await cloakroom.refresh(current);
      if (next === null) throw new Error('refresh failed');
      chain.push(next.ticket);
      current = next.ticket;
    }
    clock.advance(1_000);
    expect(await cloakroom.refresh(first)).toBeNull();
    for (const t of chain) expect(await cloakroom.resolve(t)).toBeNull();
  });
});

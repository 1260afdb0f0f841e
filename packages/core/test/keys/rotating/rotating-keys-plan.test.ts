// Invariants of the key-set document under any sequence of operator actions,
// housekeeping and passing time (fast-check). Keys are fakes: the plan never
// looks inside them.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KeyLifecycle, KeySetDocument } from '../../../src/keys/rotating/key-set-document';
import { maintain } from '../../../src/keys/rotating/maintain';
import type { RotatingSchedule } from '../../../src/keys/rotating/options';
import {
  type DerivedState,
  type KeyFactory,
  createDocument,
  disableKey,
  rotateKind,
  stateAt,
} from '../../../src/keys/rotating/plan';

const MIN = 60_000;
const SCHEDULE: RotatingSchedule = {
  name: 'default',
  alg: 'EdDSA',
  rotateEvery: 60 * MIN,
  publishAhead: 10 * MIN,
  retireAfter: 20 * MIN,
  refreshEvery: MIN,
  storageRotateEvery: 90 * MIN,
  storagePublishAhead: 5 * MIN,
  maxSeals: 50,
};

const fakes: KeyFactory = {
  async signing(alg) {
    return { id: randomBytes(32).toString('base64url'), alg, jwk: { kty: 'OKP' } };
  },
  storage() {
    return {
      id: `sk_${randomBytes(8).toString('hex')}`,
      key: randomBytes(32).toString('base64url'),
    };
  },
};

type Command =
  | { op: 'advance'; ms: number }
  | { op: 'maintain'; seals: number }
  | { op: 'rotate'; kind: 'signing' | 'storage' }
  | { op: 'compromise' | 'disable'; pick: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 40 * MIN }) }),
  fc.record({ op: fc.constant('maintain' as const), seals: fc.integer({ min: 0, max: 60 }) }),
  fc.record({
    op: fc.constant('rotate' as const),
    kind: fc.constantFrom('signing' as const, 'storage' as const),
  }),
  fc.record({ op: fc.constantFrom('compromise' as const, 'disable' as const), pick: fc.nat() }),
);

const ORDER: Record<DerivedState, number> = {
  pending: 0,
  primary: 1,
  retired: 2,
  destroyed: 3,
  disabled: 4,
};

function checkFamily(
  entries: readonly KeyLifecycle[],
  now: number,
  grace: number | undefined,
  kind: string,
) {
  // Sample the future: exactly one primary at every instant, at most one pending,
  // and no key ever moves backwards through its states.
  const times = new Set<number>([now]);
  for (const e of entries) {
    for (const t of [e.activatesAt, e.retiresAt, e.expiresAt]) {
      if (t !== undefined && t >= now) {
        times.add(t - 1);
        times.add(t);
      }
    }
  }
  const sorted = [...times].filter((t) => t >= now).sort((a, b) => a - b);
  const last = new Map<string, number>();
  for (const t of sorted) {
    const states = entries.map((e) => stateAt(e, t));
    expect(
      states.filter((s) => s === 'primary'),
      `${kind} primaries at +${t - now}`,
    ).toHaveLength(1);
    expect(states.filter((s) => s === 'pending').length).toBeLessThanOrEqual(1);
    for (const [i, e] of entries.entries()) {
      const rank = ORDER[states[i] as DerivedState];
      expect(rank).toBeGreaterThanOrEqual(last.get(e.id) ?? 0);
      last.set(e.id, rank);
    }
  }
  for (const e of entries) {
    if (e.disabledAt !== undefined) {
      expect('jwk' in e || 'key' in e, 'disabled keys keep no material').toBe(false);
    } else if (e.retiresAt !== undefined) {
      // The grace is exactly the configured one (SEC-19), never stretched by later events.
      if (grace === undefined) expect(e.expiresAt).toBeUndefined();
      else expect(e.expiresAt).toBe(e.retiresAt + grace);
      expect(e.activatesAt).toBeLessThanOrEqual(e.retiresAt);
    }
  }
}

describe('key-set document invariants', () => {
  it('SEC-19 under any sequence of rotations, compromises, housekeeping and time: one primary per kind at every instant, states only move forward, graces are exact', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 30 }), async (commands) => {
        let now = Date.UTC(2026, 0, 1);
        let doc: KeySetDocument = await createDocument(now, SCHEDULE, fakes);
        const index = doc.index;
        for (const c of commands) {
          if (c.op === 'advance') now += c.ms;
          else if (c.op === 'maintain') {
            const primary = doc.storage.find((e) => stateAt(e, now) === 'primary');
            const usage = new Map(primary === undefined ? [] : [[primary.id, c.seals]]);
            doc = (await maintain(doc, now, SCHEDULE, fakes, usage)) ?? doc;
          } else if (c.op === 'rotate') {
            const before = doc[c.kind].length;
            const r = await rotateKind(doc, c.kind, now, SCHEDULE, fakes);
            doc = r.doc ?? doc;
            expect(doc[c.kind].length - before).toBeLessThanOrEqual(1);
            expect(stateAt(doc[c.kind].find((e) => e.id === r.id) as KeyLifecycle, now)).toBe(
              'pending',
            );
          } else {
            const all = [...doc.signing, ...doc.storage];
            const target = all[c.pick % all.length] as KeyLifecycle;
            const wasPrimary = stateAt(target, now) === 'primary';
            try {
              doc =
                (await disableKey(doc, target.id, now, SCHEDULE, fakes, c.op === 'disable')) ?? doc;
            } catch (error) {
              // Only a routine disable of a primary is refused.
              expect(c.op === 'disable' && wasPrimary).toBe(true);
              expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
            }
            const after = [...doc.signing, ...doc.storage].find((e) => e.id === target.id);
            if (c.op === 'compromise') expect(after?.disabledAt).toBeLessThanOrEqual(now);
          }
          checkFamily(doc.signing, now, SCHEDULE.retireAfter, 'signing');
          checkFamily(doc.storage, now, undefined, 'storage');
          expect(doc.index).toBe(index);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('SEC-11 housekeeping starts a storage rotation once the persisted fleet count reaches maxSeals, and only one', async () => {
    let now = Date.UTC(2026, 0, 1);
    let doc = await createDocument(now, SCHEDULE, fakes);
    const first = doc.storage[0]?.id as string;
    doc = (await maintain(doc, now, SCHEDULE, fakes, new Map([[first, 49]]))) ?? doc;
    expect(doc.storage).toHaveLength(1);
    doc = (await maintain(doc, now, SCHEDULE, fakes, new Map([[first, 1]]))) ?? doc;
    expect(doc.storage).toHaveLength(2);
    expect(doc.storage[0]?.seals).toBe(50);
    now += MIN;
    expect(await maintain(doc, now, SCHEDULE, fakes, new Map([[first, 5]]))).toMatchObject({
      storage: [{ seals: 55 }, { seals: 0 }],
    });
  });
});

import { type SessionStoreSuiteOptions, sessionStoreChecks } from '@cloakroom/conformance';
import { describe, expect, it } from 'vitest';
import { createInstanceLockedStore, mutants } from './support/mutants';
import { createReferenceStore, dumpBackend, type ReferenceStore } from './support/reference-store';

// Mutants run on a virtual clock, so the expiry checks land exactly on boundaries.
const clock = { t: Date.now() };
const now = () => clock.t;

// The model check finds a flaw only when its random sequences reach it (a
// non-atomic rotate shows only on a rotate into a live id): at 50 runs it
// missed about one time in a hundred, so the mutants get 200 runs of it. The
// targeted checks (rotate-conflict, rotate-atomic) catch the same flaws every time.
function optionsFor(
  create: (typeof mutants)[number]['create'],
  numRuns = 50,
): SessionStoreSuiteOptions {
  return {
    now,
    advanceTime: (ms) => {
      clock.t += ms;
    },
    inspect: async (store) => dumpBackend(store),
    unreachable: () => create({ now, reachable: false }),
    unreachableTimeoutMs: 500,
    numRuns,
  };
}

const checkById = (id: string) => {
  const check = sessionStoreChecks.find((c) => c.id === id);
  if (!check) throw new Error(`no check ${id}`);
  return check;
};

describe('the suite has teeth: each deliberately broken store fails the checks aimed at its flaw', () => {
  for (const mutant of mutants) {
    for (const id of mutant.caughtBy) {
      it(`${mutant.flaw}: fails "${id}"`, async () => {
        const options = optionsFor(mutant.create, id === 'model' ? 200 : 50);
        const run = checkById(id).run(() => mutant.create({ now }), options);
        await expect(run).rejects.toThrow();
      }, 60_000);
    }
  }

  it('every check except at-rest is aimed at by at least one mutant', () => {
    const aimed = new Set(mutants.flatMap((m) => m.caughtBy));
    const unaimed = sessionStoreChecks
      .map((c) => c.id)
      .filter((id) => !aimed.has(id) && id !== 'at-rest');
    expect(unaimed).toEqual([]);
  });

  it('a CAS atomic only within one instance passes alone but fails once the sibling option adds a second instance', async () => {
    const check = checkById('concurrent-replace');
    const factory = () => createInstanceLockedStore({ now });
    await expect(check.run(factory, { now })).resolves.toBeUndefined();
    const sibling = (store: unknown) =>
      createInstanceLockedStore({ now, backend: (store as ReferenceStore).backend });
    await expect(check.run(factory, { now, sibling })).rejects.toThrow(
      /concurrent replaces returned true/,
    );
  });

  it('SEC-02 at-rest check fails when inspect sees nothing (it cannot pass vacuously)', async () => {
    const options: SessionStoreSuiteOptions = { inspect: async () => [] };
    await expect(checkById('at-rest').run(() => createReferenceStore(), options)).rejects.toThrow(
      /inspect returned nothing/,
    );
  });

  it('the model check reports the seed and a replay command on failure', async () => {
    const mutant = mutants.find((m) => m.flaw.startsWith('CAS ignores'))!;
    const run = checkById('model').run(() => mutant.create({ now }), optionsFor(mutant.create));
    await expect(run).rejects.toThrow(
      /seed: -?\d+[\s\S]*Counterexample[\s\S]*CLOAKROOM_CONFORMANCE_SEED=/,
    );
  });
});

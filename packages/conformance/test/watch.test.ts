import { type SessionStoreSuiteOptions, sessionStoreChecks } from '@cloakroom/conformance';
import { describe, expect, it } from 'vitest';
import { createReferenceStore } from './support/reference-store';
import { createWatchedReferenceStore } from './support/watch-mutants';
import { runChecks } from './support/run-checks';

const watchChecks = sessionStoreChecks.filter((c) => c.id.startsWith('watch-'));

describe('SEC-32 watch checks', () => {
  it('an honest channel passes every watch check (its own writes)', async () => {
    const options: SessionStoreSuiteOptions = {};
    const runs = await runChecks(watchChecks, () => createWatchedReferenceStore({}), options);
    expect(runs.map((r) => r.id)).toEqual(['watch-writes', 'watch-subject', 'watch-close']);
    expect(runs.filter((r) => !r.passed).map((r) => `${r.id}: ${String(r.error)}`)).toEqual([]);
  });

  it('a store without watch passes the watch checks with nothing to check, and fails each of them once requiredMethods lists watch', async () => {
    const factory = () => createReferenceStore({});
    const lenient = await runChecks(watchChecks, factory, {});
    expect(lenient.filter((r) => !r.passed)).toEqual([]);
    const strict = await runChecks(watchChecks, factory, { requiredMethods: ['watch'] });
    expect(strict.map((r) => `${r.id}: ${r.passed ? 'passed' : String(r.error)}`)).toEqual(
      watchChecks.map(
        (c) =>
          `${c.id}: ConformanceFailure: requiredMethods lists watch, but the store has no watch method`,
      ),
    );
  });

  it('SEC-32 a channel deaf to a second instance fails watch-writes once a sibling writes', async () => {
    // Each factory call is its own backend: the "sibling" writes where the watcher cannot hear.
    const options: SessionStoreSuiteOptions = {
      sibling: () => createWatchedReferenceStore({}),
    };
    const check = watchChecks.find((c) => c.id === 'watch-writes');
    await expect(check?.run(() => createWatchedReferenceStore({}), options)).rejects.toThrow(
      /second instance/,
    );
  });
});

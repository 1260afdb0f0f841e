import { type SessionStoreSuiteOptions, sessionStoreChecks } from '@cloakroom/conformance';
import { describe, expect, it } from 'vitest';
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

import fc from 'fast-check';
import {
  ConformanceFailure,
  granularity,
  replayParameters,
  runCount,
  type SessionStoreCheck,
  suiteClock,
  withStore,
} from '../harness';
import { SessionModel } from '../session-model';
import { sessionCommands } from '../session-model-commands';

/**
 * Model-based test: random command sequences run against the store and a
 * reference model side by side; the first divergence fails with fast-check's
 * seed, path and shrunk command sequence, plus how to replay it.
 */
export const modelCheck: SessionStoreCheck = {
  id: 'model',
  name: 'model: random insert/get/replace/rotate/delete/deleteBySubject/listBySubject/scan/expiry sequences (with insertWithLimit and its seats, when the store has it) match the reference model',
  timeoutMs: (options) => 60_000 + runCount(options.numRuns) * 2_000,
  async run(factory, options) {
    const clock = suiteClock(options);
    const g = granularity(options);
    // Whether to generate sweep and insertWithLimit commands depends on the store, so peek at one.
    const { sweep, limits } = await withStore(factory, options, async (store) => ({
      sweep: typeof store.sweep === 'function',
      limits: typeof store.insertWithLimit === 'function',
    }));
    const commands = fc.commands(sessionCommands({ virtualTime: clock.virtual, sweep, limits }), {
      size: 'medium',
      maxCommands: 80,
    });
    const property = fc.asyncProperty(commands, async (cmds) => {
      await withStore(factory, options, (store) =>
        fc.asyncModelRun(() => ({ model: new SessionModel(clock, g, limits), real: store }), cmds),
      );
    });
    try {
      await fc.assert(property, { numRuns: runCount(options.numRuns), ...replayParameters() });
    } catch (err) {
      throw new ConformanceFailure(withReplayHint(err), { cause: err });
    }
  },
};

function withReplayHint(err: unknown): string {
  const cause = err instanceof Error ? err.cause : undefined;
  const message = [
    err instanceof Error ? err.message : String(err),
    cause instanceof Error ? `Failure: ${cause.message}` : '',
  ]
    .filter(Boolean)
    .join('\n');
  const seed = /seed: (-?\d+)/.exec(message)?.[1];
  const path = /path: "([^"]*)"/.exec(message)?.[1];
  if (seed === undefined) return message;
  return `${message}\n\nReplay: CLOAKROOM_CONFORMANCE_SEED=${seed}${path ? ` CLOAKROOM_CONFORMANCE_PATH=${path}` : ''}`;
}

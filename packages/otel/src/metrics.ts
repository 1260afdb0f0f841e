// The metric instruments. Attributes are bounded sets (operation, method,
// outcome, store name, error code, key-set name): never a session id or
// subject index, which would make one series per user.
import type { Attributes, MeterProvider, ObservableResult } from '@opentelemetry/api';
import type {
  KeySyncTraceMessage,
  RewrapProgressMessage,
  SessionTraceMessage,
  StoreTraceMessage,
} from '@cloakroom/core';
import { ATTR, errorCode } from './attributes';

// Seconds, from 50 µs (a memory-store resolve) to 10 s (a store timing out).
const BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
  5, 10,
];

type Totals = Pick<RewrapProgressMessage, 'rewrapped' | 'current' | 'unreadable' | 'contended'>;

/** What the channel handlers record. */
export interface Recorder {
  sessionDone(message: SessionTraceMessage, seconds: number): void;
  storeDone(message: StoreTraceMessage, seconds: number): void;
  keySyncDone(message: KeySyncTraceMessage): void;
  rewrapProgress(store: string, delta: Totals): void;
  dispose(): void;
}

const CREATED = new Set(['create', 'deposit']);
const REVOKED = new Set(['revoke', 'revokeSession', 'revokeSubject']);

export function createRecorder(provider: MeterProvider, now: () => number): Recorder {
  const meter = provider.getMeter('@cloakroom/otel');
  const sessionDuration = meter.createHistogram('cloakroom.session.duration', {
    description:
      'Duration of Cloakroom manager operations (resolve latency among them), by operation and outcome',
    unit: 's',
    advice: { explicitBucketBoundaries: BUCKETS },
  });
  const storeDuration = meter.createHistogram('cloakroom.store.duration', {
    description: 'Duration of session-store calls, by method and outcome',
    unit: 's',
    advice: { explicitBucketBoundaries: BUCKETS },
  });
  const storeErrors = meter.createCounter('cloakroom.store.errors', {
    description: 'Session-store calls that threw, by method and error code (error.type)',
  });
  const created = meter.createCounter('cloakroom.sessions.created', {
    description: 'Sessions created (create, deposit) by this process, per store',
  });
  const revoked = meter.createCounter('cloakroom.sessions.revoked', {
    description:
      'Sessions revoked (revoke, revokeSession, revokeSubject) by this process, per store',
  });
  const syncs = meter.createCounter('cloakroom.key_set.syncs', {
    description: 'Reads of the shared key-set document, by reason and outcome',
  });
  const rewrapRecords = meter.createCounter('cloakroom.rewrap.records', {
    description: 'Records handled by rewrap, by result (rewrapped, current, unreadable, contended)',
  });
  const age = meter.createObservableGauge('cloakroom.key_set.age', {
    description: 'Time since this process last loaded its rotating key set from the store',
    unit: 's',
  });

  const loaded = new Map<string, { attributes: Attributes; loadedAt: number }>();
  const observe = (result: ObservableResult) => {
    for (const { attributes, loadedAt } of loaded.values()) {
      result.observe(Math.max(0, (now() - loadedAt) / 1000), attributes);
    }
  };
  age.addCallback(observe);

  return {
    sessionDone(m, seconds) {
      const attributes: Attributes = {
        [ATTR.operation]: m.operation,
        [ATTR.storeName]: m.store,
        [ATTR.outcome]: m.outcome ?? 'unknown',
      };
      sessionDuration.record(seconds, attributes);
      const store = { [ATTR.storeName]: m.store, [ATTR.operation]: m.operation };
      if (m.outcome === 'created' && CREATED.has(m.operation)) created.add(1, store);
      if (m.outcome === 'revoked' && REVOKED.has(m.operation)) revoked.add(m.count ?? 1, store);
    },
    storeDone(m, seconds) {
      const code = errorCode(m.outcome);
      storeDuration.record(seconds, {
        [ATTR.storeMethod]: m.method,
        [ATTR.storeName]: m.store,
        [ATTR.outcome]: code === undefined ? (m.outcome ?? 'unknown') : 'error',
        ...(code === undefined ? {} : { [ATTR.errorType]: code }),
      });
      if (code !== undefined) {
        storeErrors.add(1, {
          [ATTR.storeMethod]: m.method,
          [ATTR.storeName]: m.store,
          [ATTR.errorType]: code,
        });
      }
    },
    keySyncDone(m) {
      const attributes = { [ATTR.keySet]: m.keySet, [ATTR.storeName]: m.store };
      syncs.add(1, {
        ...attributes,
        [ATTR.keySetReason]: m.reason,
        [ATTR.outcome]: errorCode(m.outcome) === undefined ? (m.outcome ?? 'unknown') : 'error',
        ...(errorCode(m.outcome) === undefined ? {} : { [ATTR.errorType]: errorCode(m.outcome) }),
      });
      if (typeof m.loadedAt === 'number') {
        loaded.set(`${m.store}\u0000${m.keySet}`, { attributes, loadedAt: m.loadedAt });
      }
    },
    rewrapProgress(store, delta) {
      for (const result of ['rewrapped', 'current', 'unreadable', 'contended'] as const) {
        if (delta[result] > 0) {
          rewrapRecords.add(delta[result], {
            [ATTR.storeName]: store,
            [ATTR.rewrapResult]: result,
          });
        }
      }
    },
    dispose() {
      age.removeCallback(observe);
      loaded.clear();
    },
  };
}

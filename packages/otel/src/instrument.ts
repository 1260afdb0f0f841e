// Subscribes to core's diagnostics channels and turns them into spans and
// metrics. Each call of instrumentCloakroom owns its subscriptions, so its
// disposer removes exactly what it added.
import { AsyncLocalStorage } from 'node:async_hooks';
import * as dc from 'node:diagnostics_channel';
import {
  type Attributes,
  type Context,
  type Span,
  SpanKind,
  SpanStatusCode,
  context,
  metrics,
  trace,
} from '@opentelemetry/api';
import {
  KEY_SYNC_CHANNEL,
  type KeySyncTraceMessage,
  REWRAP_PROGRESS_CHANNEL,
  type RewrapProgressMessage,
  SESSION_OPERATIONS,
  STORE_METHODS,
  type SessionTraceMessage,
  type StoreTraceMessage,
  sessionChannelName,
  storeChannelName,
} from '@cloakroom/core';
import {
  ATTR,
  errorCode,
  keySyncAttributes,
  sessionAttributes,
  storeAttributes,
} from './attributes';
import { type Recorder, createRecorder } from './metrics';
import { type InstrumentCloakroomOptions, resolveOptions } from './options';

/** One traced call in flight. */
interface Run {
  readonly context: Context;
  readonly span: Span | undefined;
  readonly startedAt: number;
  /** rewrap: the totals last reported, to count deltas. */
  progress?: RewrapProgressMessage;
}

type Kind = 'session' | 'store' | 'keys';

/**
 * Turn Cloakroom's diagnostics channels into OpenTelemetry spans and
 * metrics. Spans: one per manager operation (`cloakroom.session.resolve`, …),
 * a child per store call (`cloakroom.store.get`, …) and one per key-set sync
 * (`cloakroom.keys.sync`), each with a `cloakroom.outcome` attribute and, on
 * failure, `error.type` (the error code; never its message). Metrics:
 * `cloakroom.session.duration` (resolve latency by outcome among them),
 * `cloakroom.store.duration`, `cloakroom.store.errors`,
 * `cloakroom.sessions.created` / `.revoked`, `cloakroom.key_set.age`,
 * `cloakroom.key_set.syncs`, `cloakroom.rewrap.records`. No attribute ever
 * holds a ticket, token, claim, raw subject or key.
 *
 * Returns the off switch: calling it unsubscribes everything this call
 * added (idempotent); core's channels then cost nothing again.
 *
 * @example
 * ```ts
 * import { instrumentCloakroom } from '@cloakroom/otel';
 *
 * // After the OpenTelemetry SDK has registered its global providers:
 * const stop = instrumentCloakroom({ storeSpans: false });
 * // … later, e.g. on shutdown or when an operator turns tracing off:
 * stop();
 * ```
 */
export function instrumentCloakroom(options: InstrumentCloakroomOptions = {}): () => void {
  const o = resolveOptions(options);
  if (!o.spans && !o.metrics) return () => {};
  const tracer = o.spans
    ? (o.tracerProvider ?? trace.getTracerProvider()).getTracer('@cloakroom/otel')
    : undefined;
  const recorder: Recorder | undefined = o.metrics
    ? createRecorder(o.meterProvider ?? metrics.getMeterProvider(), Date.now)
    : undefined;
  const als = new AsyncLocalStorage<Run>();
  const runs = new WeakMap<object, Run>();
  const undo: (() => void)[] = [];

  const begin = (kind: Kind, name: string, message: object, attributes: Attributes): Run => {
    const outer = als.getStore()?.context ?? context.active();
    const wantSpan = tracer !== undefined && (kind !== 'store' || o.storeSpans);
    const span = wantSpan
      ? tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes }, outer)
      : undefined;
    const run: Run = {
      context: span === undefined ? outer : trace.setSpan(outer, span),
      span,
      startedAt: performance.now(),
    };
    runs.set(message, run);
    return run;
  };

  const finish = (message: object, attributes: Attributes, outcome: string | undefined) => {
    const run = runs.get(message);
    if (run === undefined) return undefined;
    runs.delete(message);
    const span = run.span;
    if (span !== undefined) {
      span.setAttributes(attributes);
      const code = errorCode(outcome);
      // A rejected ticket is an answer, not a failure: only a thrown error marks the span.
      if (code !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: code });
      span.end();
    }
    return (performance.now() - run.startedAt) / 1000;
  };

  const watch = <M extends object>(
    channelName: string,
    kind: Kind,
    spanName: string,
    startAttributes: (m: M) => Attributes,
    done: (m: M) => void,
  ) => {
    const tc = dc.tracingChannel<unknown, M>(channelName);
    const transform = (m: unknown) => {
      const message = m as M;
      return begin(kind, spanName, message, startAttributes(message));
    };
    tc.start.bindStore(als, transform);
    // A subscriber on asyncEnd, so an operation whose start we bound is always finished.
    const handlers = { asyncEnd: (m: unknown) => done(m as M) };
    tc.subscribe(handlers as Parameters<typeof tc.subscribe>[0]);
    undo.push(() => {
      tc.unsubscribe(handlers as Parameters<typeof tc.unsubscribe>[0]);
      tc.start.unbindStore(als);
    });
  };

  for (const operation of SESSION_OPERATIONS) {
    watch<SessionTraceMessage>(
      sessionChannelName(operation),
      'session',
      `cloakroom.session.${operation}`,
      (m) => ({ [ATTR.operation]: m.operation, [ATTR.storeName]: m.store }),
      (m) => {
        const seconds = finish(m, sessionAttributes(m, o.sessionIds), m.outcome);
        if (seconds !== undefined) recorder?.sessionDone(m, seconds);
      },
    );
  }
  for (const method of STORE_METHODS) {
    watch<StoreTraceMessage>(
      storeChannelName(method),
      'store',
      `cloakroom.store.${method}`,
      (m) => ({ [ATTR.storeMethod]: m.method, [ATTR.storeName]: m.store }),
      (m) => {
        const seconds = finish(m, storeAttributes(m, o.sessionIds), m.outcome);
        if (seconds !== undefined) recorder?.storeDone(m, seconds);
      },
    );
  }
  watch<KeySyncTraceMessage>(
    KEY_SYNC_CHANNEL,
    'keys',
    'cloakroom.keys.sync',
    (m) => ({ [ATTR.keySet]: m.keySet, [ATTR.storeName]: m.store, [ATTR.keySetReason]: m.reason }),
    (m) => {
      if (finish(m, keySyncAttributes(m), m.outcome) !== undefined) recorder?.keySyncDone(m);
    },
  );

  // Rewrap progress arrives inside the rewrap call: its run is the ALS store.
  const onProgress = (m: unknown) => {
    const p = m as RewrapProgressMessage;
    const run = als.getStore();
    const last = run?.progress;
    if (run !== undefined) run.progress = p;
    recorder?.rewrapProgress(p.store, {
      rewrapped: p.rewrapped - (last?.rewrapped ?? 0),
      current: p.current - (last?.current ?? 0),
      unreadable: p.unreadable - (last?.unreadable ?? 0),
      contended: p.contended - (last?.contended ?? 0),
    });
    run?.span?.addEvent('cloakroom.rewrap.progress', {
      [ATTR.count]: p.scanned,
      [ATTR.rewrapped]: p.rewrapped,
      [ATTR.unreadable]: p.unreadable,
      'cloakroom.rewrap.current': p.current,
      'cloakroom.rewrap.contended': p.contended,
    });
  };
  dc.subscribe(REWRAP_PROGRESS_CHANNEL, onProgress);
  undo.push(() => dc.unsubscribe(REWRAP_PROGRESS_CHANNEL, onProgress));
  if (recorder !== undefined) undo.push(() => recorder.dispose());

  let disposed = false;
  return () => {
    if (disposed) return;
    disposed = true;
    for (const step of undo) step();
  };
}

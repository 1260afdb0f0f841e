// A real Cloakroom on the memory store (optionally behind a switch that
// makes every store call fail), with the OpenTelemetry SDK's in-memory
// exporters for spans and metrics.
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  type CloakroomOptions,
  type SessionStore,
  StoreUnavailable,
  allowAll,
  createCloakroom,
  generateSecret,
  generateSigningKey,
  staticKeys,
} from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';
import { type InstrumentCloakroomOptions, instrumentCloakroom } from '@cloakroom/otel';

export function telemetry() {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(spans)],
  });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 3_600_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    tracerProvider,
    meterProvider,
    finished: (): ReadableSpan[] => spans.getFinishedSpans(),
    /** Collects now and returns every metric of the last collection. */
    async metrics(): Promise<MetricData[]> {
      metricExporter.reset();
      await reader.forceFlush();
      const last = metricExporter.getMetrics().at(-1);
      return last?.scopeMetrics.flatMap((s) => s.metrics) ?? [];
    },
    instrument: (options: InstrumentCloakroomOptions = {}) =>
      instrumentCloakroom({ tracerProvider, meterProvider, ...options }),
    async shutdown() {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
    },
  };
}

/** A store that forwards to `inner` until `fail` is set, then throws StoreUnavailable from every call. */
export function failingStore(inner: SessionStore) {
  let failing = false;
  const guard =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (failing) throw new StoreUnavailable('the test store is down');
      return call(...args);
    };
  const store: SessionStore = {
    name: 'flaky',
    capabilities: inner.capabilities,
    insert: guard((r) => inner.insert(r)),
    get: guard((id) => inner.get(id)),
    replace: guard((r, v) => inner.replace(r, v)),
    rotate: guard((o, n) => inner.rotate(o, n)),
    delete: guard((id) => inner.delete(id)),
    deleteBySubject: guard((s) => inner.deleteBySubject(s)),
    listBySubject: guard((s) => inner.listBySubject(s)),
    scan: guard((o) => inner.scan(o)),
    close: () => inner.close(),
  };
  return {
    store,
    fail(on: boolean) {
      failing = on;
    },
  };
}

export async function keyMaterial() {
  const signing = await generateSigningKey('EdDSA');
  return {
    signing,
    storage: generateSecret(),
    oldStorage: generateSecret(),
    index: generateSecret(),
  };
}

export function cloakroomOn(
  store: SessionStore,
  m: Awaited<ReturnType<typeof keyMaterial>>,
  storage: { id: string; key: Uint8Array }[] = [{ id: 'sk_new', key: m.storage }],
  extra: Partial<CloakroomOptions> = {},
) {
  return createCloakroom({
    store,
    keys: staticKeys({
      signing: [{ alg: 'EdDSA', privateKey: m.signing.privateJwk }],
      storage,
      index: m.index,
    }),
    issuer: 'https://issuer.test',
    audience: 'https://api.test',
    policy: allowAll(),
    ...extra,
  });
}

export { createMemoryStore };

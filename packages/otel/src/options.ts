import type { MeterProvider, TracerProvider } from '@opentelemetry/api';

/** Options of {@link instrumentCloakroom}. */
export interface InstrumentCloakroomOptions {
  /**
   * Where spans go.
   * @default the global tracer provider (`trace.getTracerProvider()`)
   */
  readonly tracerProvider?: TracerProvider;
  /**
   * Where metrics go.
   * @default the global meter provider (`metrics.getMeterProvider()`)
   */
  readonly meterProvider?: MeterProvider;
  /**
   * Record spans. `false` turns every span off (metrics stay).
   * @default true
   */
  readonly spans?: boolean;
  /**
   * Record a child span per store call (`cloakroom store.get`, …). Turn off
   * to keep one span per operation on a busy service.
   * @default true
   */
  readonly storeSpans?: boolean;
  /**
   * Record metrics. `false` turns every instrument off (spans stay).
   * @default true
   */
  readonly metrics?: boolean;
  /**
   * Put the session id (SHA-256 of the ticket) and the subject index (HMAC of
   * the subject) on spans, as audit events carry them, so a trace can be
   * matched to an audit log. Neither is ever a metric attribute.
   * @default true
   */
  readonly sessionIds?: boolean;
}

export interface ResolvedOptions {
  readonly tracerProvider: TracerProvider | undefined;
  readonly meterProvider: MeterProvider | undefined;
  readonly spans: boolean;
  readonly storeSpans: boolean;
  readonly metrics: boolean;
  readonly sessionIds: boolean;
}

export function resolveOptions(options: InstrumentCloakroomOptions): ResolvedOptions {
  const spans = options.spans ?? true;
  return {
    tracerProvider: options.tracerProvider,
    meterProvider: options.meterProvider,
    spans,
    storeSpans: spans && (options.storeSpans ?? true),
    metrics: options.metrics ?? true,
    sessionIds: options.sessionIds ?? true,
  };
}

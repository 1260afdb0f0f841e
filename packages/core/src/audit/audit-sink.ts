import type { CloakroomEvent, EventSink } from './events';

/**
 * An `onEvent` sink writing one JSON object per line (JSON Lines), with an
 * ISO timestamp, to any writer (`process.stdout`, a file stream). Events hold
 * hashed ids only, so lines are safe to ship to a log pipeline.
 *
 * @example
 * ```ts
 * createCloakroom({ ...options, onEvent: jsonLinesSink(process.stdout) });
 * // {"time":"2026-11-29T10:00:00.000Z","type":"session.created","sessionId":"…",…}
 * ```
 */
export function jsonLinesSink(writer: { write(line: string): unknown }): EventSink {
  return (event: CloakroomEvent) => {
    writer.write(`${JSON.stringify({ time: new Date(event.at).toISOString(), ...event })}\n`);
  };
}

/** Log levels used by {@link loggerSink}. */
export interface AuditLogger {
  /** Receives every event except denials and reuse detection. */
  info(object: Record<string, unknown>, message?: string): unknown;
  /** Receives `access.denied` and `session.reuse_detected`. */
  warn(object: Record<string, unknown>, message?: string): unknown;
}

const WARN: ReadonlySet<CloakroomEvent['type']> = new Set([
  'access.denied',
  'session.reuse_detected',
]);

/**
 * An `onEvent` sink for pino-style loggers (`logger.info(obj, msg)`):
 * denials and reuse detection at `warn`, everything else at `info`.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * createCloakroom({ ...options, onEvent: loggerSink(pino()) });
 * ```
 */
export function loggerSink(logger: AuditLogger): EventSink {
  return (event) => {
    const fields = { ...event } as Record<string, unknown>;
    if (WARN.has(event.type)) logger.warn(fields, `cloakroom ${event.type}`);
    else logger.info(fields, `cloakroom ${event.type}`);
  };
}

// The attributes this package writes, and the allow-list that builds them
// from core's trace messages: a field is copied only if it is named here, so
// a field core adds later cannot reach a span unreviewed.
import type { Attributes } from '@opentelemetry/api';
import type { KeySyncTraceMessage, SessionTraceMessage, StoreTraceMessage } from '@cloakroom/core';

/** Attribute names written by `@cloakroom/otel`. */
export const ATTR = {
  operation: 'cloakroom.operation',
  outcome: 'cloakroom.outcome',
  storeName: 'cloakroom.store.name',
  storeMethod: 'cloakroom.store.method',
  sessionId: 'cloakroom.session.id',
  nextSessionId: 'cloakroom.session.next_id',
  subjectIndex: 'cloakroom.subject.index',
  count: 'cloakroom.count',
  rewrapped: 'cloakroom.rewrap.rewrapped',
  unreadable: 'cloakroom.rewrap.unreadable',
  rewrapResult: 'cloakroom.rewrap.result',
  primaryKeyId: 'cloakroom.key.primary_id',
  keySet: 'cloakroom.key_set.name',
  keySetVersion: 'cloakroom.key_set.version',
  keySetReason: 'cloakroom.key_set.reason',
  signingKeyId: 'cloakroom.key.signing_id',
  storageKeyId: 'cloakroom.key.storage_id',
  errorType: 'error.type',
} as const;

/** `error:<code>` → `<code>`; anything else → undefined. */
export const errorCode = (outcome: string | undefined): string | undefined =>
  outcome?.startsWith('error:') === true ? outcome.slice('error:'.length) : undefined;

function put(out: Attributes, key: string, value: unknown): void {
  if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) {
    out[key] = value;
  }
}

/** Span attributes of a finished session operation. */
export function sessionAttributes(m: SessionTraceMessage, ids: boolean): Attributes {
  const out: Attributes = {};
  put(out, ATTR.operation, m.operation);
  put(out, ATTR.storeName, m.store);
  put(out, ATTR.outcome, m.outcome);
  put(out, ATTR.errorType, errorCode(m.outcome));
  put(out, ATTR.count, m.count);
  put(out, ATTR.rewrapped, m.rewrapped);
  put(out, ATTR.unreadable, m.unreadable);
  put(out, ATTR.primaryKeyId, m.primaryKeyId);
  if (ids) {
    put(out, ATTR.sessionId, m.sessionId);
    put(out, ATTR.nextSessionId, m.nextSessionId);
    put(out, ATTR.subjectIndex, m.subjectIndex);
  }
  return out;
}

/** Span attributes of a finished store call. */
export function storeAttributes(m: StoreTraceMessage, ids: boolean): Attributes {
  const out: Attributes = {};
  put(out, ATTR.storeMethod, m.method);
  put(out, ATTR.storeName, m.store);
  put(out, ATTR.outcome, m.outcome);
  put(out, ATTR.errorType, errorCode(m.outcome));
  put(out, ATTR.count, m.count);
  if (ids) {
    put(out, ATTR.sessionId, m.sessionId);
    put(out, ATTR.subjectIndex, m.subjectIndex);
  }
  return out;
}

/** Span attributes of a finished key-set sync. */
export function keySyncAttributes(m: KeySyncTraceMessage): Attributes {
  const out: Attributes = {};
  put(out, ATTR.keySet, m.keySet);
  put(out, ATTR.storeName, m.store);
  put(out, ATTR.keySetReason, m.reason);
  put(out, ATTR.outcome, m.outcome);
  put(out, ATTR.errorType, errorCode(m.outcome));
  put(out, ATTR.keySetVersion, m.version);
  put(out, ATTR.signingKeyId, m.signingKeyId);
  put(out, ATTR.storageKeyId, m.storageKeyId);
  return out;
}

// A thin wrapper that publishes every session-store call on
// `cloakroom:store.<method>`. With nobody subscribed each method is one
// `active()` test and the store's own call: no message, no closure.
import type {
  InvalidationChannel,
  InvalidationListener,
  LimitedInsert,
  ScanOptions,
  ScanPage,
  SessionRecord,
  SessionStore,
  SubjectLimit,
} from '../contracts/store';
import { isStoreKey } from '../store-kit/checks';
import type { StoreMethod, StoreTraceMessage } from './channels';
import { active, storeTraces, traceCall } from './tracing';

// Untrusted input reaches a message only when it is a well-formed store key
// (a session id or subject index): never whatever text a caller passed.
const idOf = (value: unknown): string | undefined => (isStoreKey(value) ? value : undefined);
const recordIdOf = (record: unknown): string | undefined =>
  typeof record === 'object' && record !== null ? idOf((record as { id?: unknown }).id) : undefined;

function messageFor(
  store: SessionStore,
  method: StoreMethod,
  ids?: { sessionId?: string | undefined; subjectIndex?: string | undefined },
): StoreTraceMessage {
  const message: { -readonly [K in keyof StoreTraceMessage]: StoreTraceMessage[K] } = {
    method,
    store: store.name,
  };
  if (ids?.sessionId !== undefined) message.sessionId = ids.sessionId;
  if (ids?.subjectIndex !== undefined) message.subjectIndex = ids.subjectIndex;
  return message;
}

const ok = () => 'ok';
const written = (done: boolean) => (done ? 'written' : 'lost');

/**
 * Wraps `store` so each call is traced. Optional methods (`insertWithLimit`, `sweep`, `watch`)
 * exist on the wrapper exactly when they exist on `store`; `name` and
 * `capabilities` read through.
 */
export function traceStore(store: SessionStore): SessionStore {
  const t = storeTraces;
  const wrapped: SessionStore = {
    get name() {
      return store.name;
    },
    get capabilities() {
      return store.capabilities;
    },
    insert(record: SessionRecord): Promise<void> {
      if (!active(t.insert)) return store.insert(record);
      const message = messageFor(store, 'insert', { sessionId: recordIdOf(record) });
      return traceCall(t.insert, message, () => store.insert(record), ok);
    },
    get(id: string): Promise<SessionRecord | null> {
      if (!active(t.get)) return store.get(id);
      const message = messageFor(store, 'get', { sessionId: idOf(id) });
      return traceCall(
        t.get,
        message,
        () => store.get(id),
        (r) => (r === null ? 'missing' : 'found'),
      );
    },
    replace(record: SessionRecord, expectedVersion: number): Promise<boolean> {
      if (!active(t.replace)) return store.replace(record, expectedVersion);
      const message = messageFor(store, 'replace', { sessionId: recordIdOf(record) });
      return traceCall(t.replace, message, () => store.replace(record, expectedVersion), written);
    },
    rotate(old, next): Promise<boolean> {
      if (!active(t.rotate)) return store.rotate(old, next);
      const message = messageFor(store, 'rotate', {
        sessionId: recordIdOf((old as { record?: unknown } | null)?.record),
      });
      return traceCall(t.rotate, message, () => store.rotate(old, next), written);
    },
    delete(id: string): Promise<boolean> {
      if (!active(t.delete)) return store.delete(id);
      const message = messageFor(store, 'delete', { sessionId: idOf(id) });
      return traceCall(
        t.delete,
        message,
        () => store.delete(id),
        (d) => (d ? 'deleted' : 'missing'),
      );
    },
    deleteBySubject(subject: string): Promise<number> {
      if (!active(t.deleteBySubject)) return store.deleteBySubject(subject);
      const message = messageFor(store, 'deleteBySubject', { subjectIndex: idOf(subject) });
      return traceCall(
        t.deleteBySubject,
        message,
        () => store.deleteBySubject(subject),
        (n) => {
          message.count = n;
          return 'ok';
        },
      );
    },
    listBySubject(subject: string): Promise<SessionRecord[]> {
      if (!active(t.listBySubject)) return store.listBySubject(subject);
      const message = messageFor(store, 'listBySubject', { subjectIndex: idOf(subject) });
      return traceCall(
        t.listBySubject,
        message,
        () => store.listBySubject(subject),
        (records) => {
          message.count = records.length;
          return 'ok';
        },
      );
    },
    scan(options: ScanOptions): Promise<ScanPage> {
      if (!active(t.scan)) return store.scan(options);
      const message = messageFor(store, 'scan');
      return traceCall(
        t.scan,
        message,
        () => store.scan(options),
        (page) => {
          message.count = page.records.length;
          return 'ok';
        },
      );
    },
    close(): Promise<void> {
      if (!active(t.close)) return store.close();
      return traceCall(t.close, messageFor(store, 'close'), () => store.close(), ok);
    },
  };
  if (store.sweep !== undefined) {
    wrapped.sweep = (now: number): Promise<number> => {
      const sweep = store.sweep as (now: number) => Promise<number>;
      if (!active(t.sweep)) return sweep.call(store, now);
      const message = messageFor(store, 'sweep');
      return traceCall(
        t.sweep,
        message,
        () => sweep.call(store, now),
        (n) => {
          message.count = n;
          return 'ok';
        },
      );
    };
  }
  if (store.insertWithLimit !== undefined) {
    wrapped.insertWithLimit = (
      record: SessionRecord,
      limit: SubjectLimit,
    ): Promise<LimitedInsert> => {
      const insert = store.insertWithLimit as (
        r: SessionRecord,
        l: SubjectLimit,
      ) => Promise<LimitedInsert>;
      if (!active(t.insertWithLimit)) return insert.call(store, record, limit);
      const message = messageFor(store, 'insertWithLimit', { sessionId: recordIdOf(record) });
      return traceCall(
        t.insertWithLimit,
        message,
        () => insert.call(store, record, limit),
        (r) => {
          if (!r.inserted) return 'refused';
          message.count = r.evicted.length;
          return 'ok';
        },
      );
    };
  }
  if (store.watch !== undefined) {
    wrapped.watch = (listener: InvalidationListener): Promise<InvalidationChannel> => {
      const watch = store.watch as (l: InvalidationListener) => Promise<InvalidationChannel>;
      if (!active(t.watch)) return watch.call(store, listener);
      return traceCall(t.watch, messageFor(store, 'watch'), () => watch.call(store, listener), ok);
    };
  }
  return wrapped;
}

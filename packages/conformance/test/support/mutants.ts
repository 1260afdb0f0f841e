import {
  type SessionRecord,
  type SessionStore,
  StoreConflict,
  StoreUnavailable,
} from '@cloakroom/core';
import { contractMutants } from './contract-mutants';
import { limitMutants } from './limit-mutants';
import { watchMutants } from './watch-mutants';
import { early, type Mutant, scanStart } from './mutant-kit';
import { copy, createReferenceStore, type ReferenceStoreOptions, tick } from './reference-store';

export type { Mutant } from './mutant-kit';

export const mutants: readonly Mutant[] = [
  {
    flaw: 'non-atomic rotate (awaits between the CAS and the insert)',
    caughtBy: ['model', 'rotate-conflict', 'rotate-atomic'],
    create(options) {
      const ref = createReferenceStore(options);
      return {
        ...ref,
        async rotate(old, nextInput) {
          const next = early(nextInput, 'next');
          if (!(await ref.replace(old.record, old.expectedVersion))) return false;
          await tick();
          await ref.insert(next);
          ref.handOver(old.record.id, next.id); // seats as a rotate hands them over: not this mutant's flaw
          return true;
        },
      };
    },
  },
  {
    flaw: 'CAS ignores the expected version',
    caughtBy: ['model', 'concurrent-replace', 'concurrent-rotate'],
    create(options) {
      const ref = createReferenceStore(options);
      return {
        ...ref,
        async replace(input) {
          const record = early(input);
          await ref.io();
          if (!ref.live(ref.backend.rows.get(record.id))) return false;
          ref.put(record);
          return true;
        },
        async rotate(oldInput, nextInput) {
          const old = { record: early(oldInput.record) };
          const next = early(nextInput);
          await ref.io();
          if (!ref.live(ref.backend.rows.get(old.record.id))) return false;
          if (ref.live(ref.backend.rows.get(next.id))) throw new StoreConflict('next exists');
          ref.put(old.record);
          ref.put(next);
          ref.handOver(old.record.id, next.id);
          return true;
        },
      };
    },
  },
  {
    flaw: 'expiry off by one (still returned at now === expiresAt)',
    // limit-free: a record at exactly its expiresAt still holds its seat.
    caughtBy: ['model', 'expiry-boundary', 'expired-insert', 'limit-free'],
    create: (options) =>
      createReferenceStore({ ...options, isLive: (row, t) => t <= row.expiresAt }),
  },
  {
    flaw: 'scan skips the first record after each page boundary',
    caughtBy: ['model', 'scan-paging', 'sweep', 'payloads', 'id-shapes', 'scan-cursor'],
    create(options) {
      const ref = createReferenceStore(options);
      return {
        ...ref,
        async scan(options) {
          const after = scanStart(ref, options);
          await ref.io();
          const ids = [...ref.backend.rows.keys()]
            .sort()
            .filter((id) => after === undefined || id > after);
          // The flaw: a page that follows a cursor drops its first id.
          if (after !== undefined) ids.shift();
          const records: SessionRecord[] = [];
          let last: string | undefined;
          for (const id of ids) {
            if (records.length === options.limit) return { records, cursor: ref.cursorFor(last!) };
            last = id;
            const row = ref.backend.rows.get(id);
            if (ref.live(row)) records.push(copy(row));
          }
          return { records };
        },
      };
    },
  },
  {
    flaw: 'deleteBySubject leaves index ghosts',
    caughtBy: ['model', 'subject-ghosts'],
    create(options) {
      const ref = createReferenceStore(options);
      return {
        ...ref,
        async deleteBySubject(subject) {
          await ref.io();
          let n = 0;
          for (const id of ref.backend.bySubject.get(subject) ?? []) {
            if (ref.live(ref.backend.rows.get(id))) n++;
            ref.backend.rows.delete(id); // the flaw: the index entry stays
          }
          return n;
        },
      };
    },
  },
  {
    flaw: 'swallows backend errors (null, false, 0, [] instead of StoreUnavailable)',
    caughtBy: ['unreachable'],
    create(options) {
      const ref = createReferenceStore(options);
      const quiet =
        <A extends unknown[], R>(fn: (...args: A) => Promise<R>, fallback: R) =>
        (...args: A) =>
          fn(...args).catch((error: unknown) => {
            if (error instanceof StoreUnavailable) return fallback;
            throw error;
          });
      return {
        ...ref,
        insert: quiet(ref.insert, undefined),
        get: quiet(ref.get, null),
        replace: quiet(ref.replace, false),
        rotate: quiet(ref.rotate, false),
        delete: quiet(ref.delete, false),
        deleteBySubject: quiet(ref.deleteBySubject, 0),
        listBySubject: quiet(ref.listBySubject, []),
        scan: quiet(ref.scan, { records: [] }),
        sweep: quiet(ref.sweep!, 0),
      };
    },
  },
  {
    flaw: 'hangs when the backend is unreachable',
    caughtBy: ['unreachable'],
    create(options) {
      const ref = createReferenceStore(options);
      const never = new Promise<never>(() => {});
      const hang =
        <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
        (...args: A) =>
          ref.backend.reachable ? fn(...args) : never;
      return {
        ...ref,
        insert: hang(ref.insert),
        get: hang(ref.get),
        replace: hang(ref.replace),
        rotate: hang(ref.rotate),
        delete: hang(ref.delete),
        deleteBySubject: hang(ref.deleteBySubject),
        listBySubject: hang(ref.listBySubject),
        scan: hang(ref.scan),
      };
    },
  },
  {
    flaw: 'insert overwrites a live record instead of throwing StoreConflict',
    caughtBy: ['model', 'insert-conflict', 'concurrent-insert', 'expired-insert', 'error-messages'],
    create(options) {
      const ref = createReferenceStore(options);
      return {
        ...ref,
        async insert(input) {
          const record = early(input);
          await ref.io();
          ref.put(record);
        },
      };
    },
  },
  {
    flaw: 'insert refuses to reuse the id of an expired record',
    caughtBy: ['model', 'expired-insert'],
    create(options) {
      const ref = createReferenceStore(options);
      return {
        ...ref,
        async insert(input) {
          const record = early(input);
          await ref.io();
          if (ref.backend.rows.has(record.id)) throw new StoreConflict('session id already exists');
          ref.put(record);
        },
      };
    },
  },
  {
    flaw: 'delete reports true for ids that are missing',
    caughtBy: ['model', 'missing', 'expiry-boundary', 'subject-ghosts', 'id-shapes', 'hostile-ids'],
    create(options) {
      const ref = createReferenceStore(options);
      return {
        ...ref,
        async delete(id) {
          await ref.delete(id);
          return true;
        },
      };
    },
  },
  {
    flaw: 'replace leaves the record in its old subject index',
    caughtBy: ['model', 'subject-follows', 'concurrent-replace'],
    create(options) {
      const ref = createReferenceStore(options);
      return {
        ...ref,
        async replace(input, expectedVersion) {
          const record = early(input);
          await ref.io();
          const row = ref.backend.rows.get(record.id);
          if (!ref.live(row) || row.version !== expectedVersion) return false;
          ref.backend.rows.set(record.id, copy(record));
          const ids = ref.backend.bySubject.get(record.subject) ?? new Set<string>();
          ids.add(record.id); // the flaw: never removed from the old subject's set
          ref.backend.bySubject.set(record.subject, ids);
          return true;
        },
      };
    },
  },
  {
    flaw: 'sweep keeps records expiring exactly at now',
    caughtBy: ['sweep'],
    mayCatch: ['model'],
    create(options) {
      const ref = createReferenceStore(options);
      return {
        ...ref,
        async sweep(at) {
          await ref.io();
          const dead = [...ref.backend.rows.values()].filter((r) => at > r.expiresAt);
          for (const r of dead) ref.remove(r.id);
          return dead.length;
        },
      };
    },
  },
  {
    flaw: 'payloads over 256 bytes stored as UTF-8 text (lossy for binary)',
    caughtBy: ['payloads', 'at-rest'],
    mayCatch: ['model'],
    create(options) {
      const ref = createReferenceStore(options);
      // Small payloads stay intact, so only the checks that store large binary payloads see it.
      const text = (input: SessionRecord): SessionRecord => {
        const r = early(input);
        if (r.payload.byteLength <= 256) return r;
        return { ...r, payload: new TextEncoder().encode(new TextDecoder().decode(r.payload)) };
      };
      return {
        ...ref,
        insert: async (r) => ref.insert(text(r)),
        replace: async (r, v) => ref.replace(text(r), v),
        rotate: async (old, next) => ref.rotate({ ...old, record: text(old.record) }, text(next)),
      };
    },
  },
  {
    flaw: 'ids compared case-insensitively',
    caughtBy: ['id-shapes'],
    create(options) {
      const ref = createReferenceStore(options);
      return {
        ...ref,
        async insert(input) {
          const record = early(input);
          await ref.io();
          const lower = record.id.toLowerCase();
          for (const row of ref.backend.rows.values()) {
            if (ref.live(row) && row.id.toLowerCase() === lower) throw new StoreConflict('exists');
          }
          ref.put(record);
        },
      };
    },
  },
  {
    flaw: 'returns its own records instead of copies',
    caughtBy: ['copies'],
    create(options) {
      const ref = createReferenceStore(options);
      return {
        ...ref,
        async get(id) {
          await ref.io();
          const row = ref.backend.rows.get(id);
          return ref.live(row) ? row : null; // the flaw: the stored object itself
        },
      };
    },
  },
  {
    flaw: 'declares no capabilities',
    // The sweep check reads capabilities.nativeExpiry to know whether sweep is required.
    caughtBy: ['declaration', 'sweep'],
    create(options) {
      const { capabilities: _, ...rest } = createReferenceStore(options);
      return rest as unknown as SessionStore;
    },
  },
  {
    flaw: 'looks records up in a plain object (get("__proto__") finds Object.prototype)',
    caughtBy: ['hostile-ids'],
    create(options) {
      const ref = createReferenceStore(options);
      return {
        ...ref,
        async get(id) {
          await ref.io();
          const rows: Record<string, SessionRecord> = Object.fromEntries(ref.backend.rows);
          const row = rows[id];
          if (row === undefined) return null;
          if (Object.hasOwn(rows, id)) return ref.live(row) ? copy(row) : null;
          return row; // the flaw: an inherited property answers as a record
        },
      };
    },
  },
  {
    flaw: 'close throws when called twice',
    caughtBy: ['close', 'closed', 'caller-client', 'at-rest', 'error-messages'],
    create(options) {
      const ref = createReferenceStore(options);
      let closed = false;
      return {
        ...ref,
        async close() {
          if (closed) throw new Error('already closed');
          closed = true;
          await ref.close();
        },
      };
    },
  },
  ...contractMutants,
  ...watchMutants,
  ...limitMutants,
];

/**
 * Atomic only within one instance: CAS is a read, a round trip, then a write,
 * serialized by an in-process lock. One instance passes every check; two
 * instances over the same backend (the suite's `sibling` option) both win.
 */
export function createInstanceLockedStore(options: ReferenceStoreOptions): SessionStore {
  const ref = createReferenceStore(options);
  let queue: Promise<unknown> = Promise.resolve();
  const locked = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => undefined);
    return run;
  };
  return {
    ...ref,
    replace: (record, expectedVersion) =>
      locked(async () => {
        await ref.io();
        const row = ref.backend.rows.get(record.id);
        const ok = ref.live(row) && row.version === expectedVersion;
        await tick(); // the write is a second round trip
        if (ok) ref.put(record);
        return ok;
      }),
  };
}

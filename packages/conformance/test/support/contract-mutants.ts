import {
  assertSessionRecord,
  type SessionRecord,
  StoreConflict,
  StoreUnavailable,
} from '@cloakroom/core';
import { hex, type Mutant, onUnavailable } from './mutant-kit';
import { copy, createReferenceStore } from './reference-store';

/** Stores that break the binding store decisions (#14): copies, causes, messages, close, arguments. */
export const contractMutants: readonly Mutant[] = [
  {
    flaw: 'keeps a reference to the inserted record and copies its payload only after an await',
    caughtBy: ['copy-at-call'],
    create(options) {
      const ref = createReferenceStore(options);
      return {
        ...ref,
        async insert(record) {
          assertSessionRecord(record);
          await ref.io();
          if (ref.live(ref.backend.rows.get(record.id))) throw new StoreConflict('exists');
          ref.put(record); // the flaw: copies the caller's bytes now, not when called
        },
      };
    },
  },
  {
    flaw: 'throws StoreUnavailable without the driver error as cause',
    caughtBy: ['unreachable'],
    create: (options) =>
      onUnavailable(
        createReferenceStore(options),
        () => new StoreUnavailable('the backend is unavailable'),
      ),
  },
  {
    flaw: 'puts the payload (base64url) into the StoreConflict message of rotate',
    caughtBy: ['error-messages'],
    create(options) {
      const ref = createReferenceStore(options);
      return {
        ...ref,
        async rotate(old, next) {
          try {
            return await ref.rotate(old, next);
          } catch (error) {
            if (!(error instanceof StoreConflict)) throw error;
            const shown = Buffer.from(next.payload).toString('base64url');
            throw new StoreConflict(`next session ${shown} already exists`);
          }
        },
      };
    },
  },
  {
    flaw: "puts the payload (hex) into the cause of an unreachable backend's StoreUnavailable",
    caughtBy: ['error-messages'],
    create: (options) =>
      onUnavailable(createReferenceStore(options), (error, args) => {
        const record = args.find(
          (a): a is SessionRecord => (a as SessionRecord)?.payload !== undefined,
        );
        const detail = record ? ` while writing ${hex(record.payload)}` : '';
        return new StoreUnavailable(error.message, { cause: new Error(`ECONNREFUSED${detail}`) });
      }),
  },
  {
    flaw: 'closes the client the caller passed in',
    caughtBy: ['caller-client'],
    create(options) {
      const ref = createReferenceStore(options);
      return {
        ...ref,
        async close() {
          await ref.close();
          if (ref.client) ref.client.open = false;
        },
      };
    },
  },
  {
    flaw: 'keeps working after close()',
    caughtBy: ['closed', 'error-messages'],
    create(options) {
      const ref = createReferenceStore(options);
      return { ...ref, async close() {} };
    },
  },
  {
    flaw: 'scan takes any limit (NaN, 0, "10") as a default page size',
    caughtBy: ['scan-limit', 'error-messages'],
    create(options) {
      const ref = createReferenceStore(options);
      return {
        ...ref,
        scan: ({ cursor, limit }) => {
          const sane = Number.isSafeInteger(limit) && limit > 0 ? limit : 100;
          return ref.scan(cursor === undefined ? { limit: sane } : { cursor, limit: sane });
        },
      };
    },
  },
  {
    flaw: 'scan restarts from the beginning on a cursor it cannot read',
    caughtBy: ['scan-cursor', 'error-messages'],
    create(options) {
      const ref = createReferenceStore(options);
      return {
        ...ref,
        scan({ cursor, limit }) {
          let readable = true;
          try {
            if (cursor !== undefined) ref.idOfCursor(cursor);
          } catch {
            readable = false;
          }
          return ref.scan(readable && cursor !== undefined ? { cursor, limit } : { limit });
        },
      };
    },
  },
  {
    flaw: 'insert stores a record whose id is not 43 characters of [A-Za-z0-9_-]',
    caughtBy: ['malformed-records', 'error-messages'],
    create(options) {
      const ref = createReferenceStore(options);
      return {
        ...ref,
        async insert(record) {
          const own = copy(record);
          await ref.io();
          if (ref.live(ref.backend.rows.get(own.id))) throw new StoreConflict('exists');
          ref.put(own);
        },
      };
    },
  },
];

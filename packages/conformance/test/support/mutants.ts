import { type SessionRecord, type SessionStore, StoreConflict } from '@cloakroom/core';
import { copy, createReferenceStore, type ReferenceStoreOptions, tick } from './reference-store';

/** A deliberately broken store: what it gets wrong, and how to build it. */
export interface Mutant {
  readonly flaw: string;
  readonly create: (options: ReferenceStoreOptions) => SessionStore;
}

export const mutants: readonly Mutant[] = [
  {
    flaw: 'non-atomic rotate (awaits between the CAS and the insert)',
    create(options) {
      const ref = createReferenceStore(options);
      return {
        ...ref,
        async rotate(old, next) {
          if (!(await ref.replace(old.record, old.expectedVersion))) return false;
          await tick();
          await ref.insert(next);
          return true;
        },
      };
    },
  },
  {
    flaw: 'CAS ignores the expected version',
    create(options) {
      const ref = createReferenceStore(options);
      return {
        ...ref,
        async replace(record) {
          await ref.io();
          if (!ref.live(ref.backend.rows.get(record.id))) return false;
          ref.put(record);
          return true;
        },
        async rotate(old, next) {
          await ref.io();
          if (!ref.live(ref.backend.rows.get(old.record.id))) return false;
          if (ref.live(ref.backend.rows.get(next.id))) throw new StoreConflict('next exists');
          ref.put(old.record);
          ref.put(next);
          return true;
        },
      };
    },
  },
  {
    flaw: 'expiry off by one (still returned at now === expiresAt)',
    create: (options) =>
      createReferenceStore({ ...options, isLive: (row, t) => t <= row.expiresAt }),
  },
  {
    flaw: 'scan skips the first record after each page boundary',
    create(options) {
      const ref = createReferenceStore(options);
      return {
        ...ref,
        async scan({ cursor, limit }) {
          await ref.io();
          const ids = [...ref.backend.rows.keys()].sort();
          let start = cursor === undefined ? 0 : Number(cursor) + 1;
          if (cursor !== undefined) start++; // the flaw: one past the boundary
          const records: SessionRecord[] = [];
          let i = start;
          for (; i < ids.length && records.length < limit; i++) {
            const row = ref.backend.rows.get(ids[i]!);
            if (ref.live(row)) records.push(copy(row));
          }
          return i < ids.length ? { records, cursor: String(i - 1) } : { records };
        },
      };
    },
  },
  {
    flaw: 'deleteBySubject leaves index ghosts',
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
];

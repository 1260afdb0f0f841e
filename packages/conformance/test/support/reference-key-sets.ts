import { ConfigInvalid, type KeySetEntry, type KeySetStore } from '@cloakroom/core';
import { tick } from './reference-store';

/** Ways to get a key-set store wrong; the reference has none. */
export type KeySetFlaw =
  | 'cas-ignores-version'
  | 'non-atomic-cas'
  | 'plain-object-map'
  | 'case-insensitive'
  | 'shares-bytes';

const NAME = /^[A-Za-z0-9._-]{1,64}$/;

/** A small, correct key-set store over a Map, unless a flaw is named. */
export function createReferenceKeySets(flaw?: KeySetFlaw): KeySetStore {
  const map = new Map<string, KeySetEntry>();
  const obj: Record<string, KeySetEntry> = {};
  const key = (name: string) => {
    if (!NAME.test(name)) throw new ConfigInvalid('key-set name must match [A-Za-z0-9._-]{1,64}');
    return flaw === 'case-insensitive' ? name.toLowerCase() : name;
  };
  const load = (k: string) => (flaw === 'plain-object-map' ? obj[k] : map.get(k));
  const save = (k: string, e: KeySetEntry) => {
    if (flaw === 'plain-object-map') obj[k] = e;
    else map.set(k, e);
  };
  const copy = (d: Uint8Array) => (flaw === 'shares-bytes' ? d : d.slice());
  return {
    name: `reference-key-sets${flaw ? `-${flaw}` : ''}`,
    async read(name) {
      const k = key(name);
      await tick();
      const e = load(k);
      return e ? { version: e.version, document: copy(e.document) } : null;
    },
    async write(name, document, expectedVersion) {
      const k = key(name);
      await tick();
      const current = load(k);
      if (expectedVersion === null && current !== undefined) return false;
      if (
        expectedVersion !== null &&
        flaw !== 'cas-ignores-version' &&
        current?.version !== expectedVersion
      )
        return false;
      if (expectedVersion !== null && current === undefined) return false;
      if (flaw === 'non-atomic-cas') await tick();
      save(k, { version: (current?.version ?? 0) + 1, document: copy(document) });
      return true;
    },
  };
}

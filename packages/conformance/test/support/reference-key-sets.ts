import {
  assertKeySetName,
  assertKeySetWrite,
  Closed,
  ConfigInvalid,
  InvalidArgument,
  type KeySetEntry,
  type KeySetStore,
  StoreUnavailable,
} from '@cloakroom/core';
import type { ReferenceClient } from './reference-store';
import { tick } from './reference-store';

/** Ways to get a key-set store wrong; the reference has none. */
export type KeySetFlaw =
  | 'cas-ignores-version'
  | 'non-atomic-cas'
  | 'plain-object-map'
  | 'case-insensitive'
  | 'shares-bytes'
  | 'config-invalid-names'
  | 'copies-late'
  | 'document-in-message'
  | 'works-after-close'
  | 'closes-client'
  | 'unavailable-without-cause';

/** A key-set store with the `close()` the contract makes optional. */
export type ReferenceKeySets = KeySetStore & { close(): Promise<void> };

/** A small, correct key-set store over a Map, unless a flaw is named. */
export function createReferenceKeySets(
  flaw?: KeySetFlaw,
  client?: ReferenceClient,
  reachable = true,
): ReferenceKeySets {
  const map = new Map<string, KeySetEntry>();
  const obj: Record<string, KeySetEntry> = {};
  let closed = false;
  const key = (name: string) => {
    if (flaw === 'config-invalid-names') {
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new ConfigInvalid('bad key-set name');
    } else assertKeySetName(name);
    return flaw === 'case-insensitive' ? name.toLowerCase() : name;
  };
  const io = async () => {
    if (closed && flaw !== 'works-after-close') throw new Closed('the key-set store is closed');
    await tick();
    if (client && !client.open) {
      throw new StoreUnavailable('reference client closed', { cause: new Error('client closed') });
    }
    if (!reachable) {
      if (flaw === 'unavailable-without-cause') throw new StoreUnavailable('backend unreachable');
      throw new StoreUnavailable('backend unreachable', { cause: new Error('ECONNREFUSED') });
    }
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
      await io();
      const e = load(k);
      return e ? { version: e.version, document: copy(e.document) } : null;
    },
    async write(name, input, expectedVersion) {
      const k = key(name);
      if (
        flaw === 'document-in-message' &&
        expectedVersion !== null &&
        !Number.isSafeInteger(expectedVersion)
      ) {
        throw new InvalidArgument(`bad version for ${Buffer.from(input).toString('base64')}`);
      }
      assertKeySetWrite(input, expectedVersion);
      // The copy is taken before the first await; the flaw takes it after.
      const early = flaw === 'copies-late' ? undefined : copy(input);
      await io();
      const document = early ?? copy(input);
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
      save(k, { version: (current?.version ?? 0) + 1, document });
      return true;
    },
    async close() {
      closed = true;
      if (flaw === 'closes-client' && client) client.open = false;
    },
  };
}

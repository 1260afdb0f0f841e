// Fleet-wide one-shot markers: a back-channel logout token's `jti` (replay,
// SEC-34) and a provider session (`sid`) that was logged out; and the links
// from a provider session to the Cloakroom sessions it opened. Kept in the
// session store the fleet already shares: `insert` is atomic on every store
// (StoreConflict when the id exists), so "first to insert wins" needs no
// other service. A marker is a record with a keyed-hash id, an empty payload
// and its own expiry; a link carries a sealed payload (see sid-links.ts).
// Neither holds a ticket or token, nor a subject or sid in clear.
import { type SessionStore, isCloakroomError } from '@cloakroom/core';
import { hmacB64url } from './encoding';

/**
 * Where markers live. The default keeps them in the session store
 * ({@link sessionStoreMarkers}); any shared store with an atomic
 * insert-if-absent works.
 */
export interface MarkerStore {
  /** Insert `key` until `expiresAt` (epoch ms); `false` when it is already there. */
  claim(key: string, expiresAt: number): Promise<boolean>;
  /** Whether `key` is there (and not expired). */
  has(key: string): Promise<boolean>;
  /**
   * Optional: remove a claimed `key`. A back-channel logout that claimed its
   * `jti` and then failed (store down) releases it, so the provider's retry
   * is served instead of refused as a replay. Without it, such a retry is
   * refused, and a `sid` logout still ends its sessions at their next use.
   */
  release?(key: string): Promise<void>;
  /**
   * Keep `payload` (opaque, sealed by the vault) as `member` of `group` until
   * `expiresAt`; linking the same member twice keeps the first. Optional with
   * {@link linked} and {@link unlink}: without them a back-channel logout by
   * `sid` ends a session at its next `vault.session()` only, not at once.
   */
  link?(group: string, member: string, payload: Uint8Array, expiresAt: number): Promise<void>;
  /** The payloads of `group`'s live members. */
  linked?(group: string): Promise<Uint8Array[]>;
  /** Remove every member of `group`; @returns how many. */
  unlink?(group: string): Promise<number>;
}

/**
 * Markers as records of the session store: ids and subject index are
 * HMAC-SHA-256 under `key` (so they never collide with a session's id, a
 * hash of a ticket), payloads are empty; links are records grouped under a
 * subject index of their own, with the vault's sealed payload. `rewrap` reports them as records it
 * cannot open and leaves them; they expire on their own (`sweep` on stores
 * without native expiry).
 *
 * @example
 * ```ts
 * const markers = sessionStoreMarkers(store, markerKey); // markerKey: 32 random bytes
 * ```
 */
export function sessionStoreMarkers(store: SessionStore, key: Uint8Array): MarkerStore {
  const subject = hmacB64url(key, 'cloakroom-oidc/markers');
  const idOf = (name: string) => hmacB64url(key, `cloakroom-oidc/marker/${name}`);
  // Each group is its own subject index: listBySubject finds its members.
  const groupOf = (group: string) => hmacB64url(key, `cloakroom-oidc/links/${group}`);
  const insert = async (id: string, index: string, expiresAt: number, payload: Uint8Array) => {
    try {
      await store.insert({
        id,
        subject: index,
        expiresAt: Math.ceil(expiresAt),
        version: 1,
        payload,
      });
      return true;
    } catch (error) {
      if (isCloakroomError(error) && error.code === 'ERR_STORE_CONFLICT') return false;
      throw error;
    }
  };
  return {
    claim: (name, expiresAt) => insert(idOf(name), subject, expiresAt, new Uint8Array(0)),
    async has(name) {
      return (await store.get(idOf(name))) !== null;
    },
    async release(name) {
      await store.delete(idOf(name));
    },
    async link(group, member, payload, expiresAt) {
      const id = hmacB64url(key, `cloakroom-oidc/link/${group}\u0000${member}`);
      await insert(id, groupOf(group), expiresAt, payload);
    },
    async linked(group) {
      return (await store.listBySubject(groupOf(group))).map((r) => r.payload);
    },
    unlink: (group) => store.deleteBySubject(groupOf(group)),
  };
}

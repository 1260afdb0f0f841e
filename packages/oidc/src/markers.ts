// Fleet-wide one-shot markers: a back-channel logout token's `jti` (replay,
// SEC-34) and a provider session (`sid`) that was logged out. Kept in the
// session store the fleet already shares: `insert` is atomic on every store
// (StoreConflict when the id exists), so "first to insert wins" needs no
// other service. A marker is a record with a keyed-hash id, an empty payload
// and its own expiry; it holds no token, subject or sid in clear.
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
}

/**
 * Markers as records of the session store: ids and subject index are
 * HMAC-SHA-256 under `key` (so they never collide with a session's id, a
 * hash of a ticket), payloads are empty. `rewrap` reports them as records it
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
  return {
    async claim(name, expiresAt) {
      try {
        await store.insert({
          id: idOf(name),
          subject,
          expiresAt: Math.ceil(expiresAt),
          version: 1,
          payload: new Uint8Array(0),
        });
        return true;
      } catch (error) {
        if (isCloakroomError(error) && error.code === 'ERR_STORE_CONFLICT') return false;
        throw error;
      }
    },
    async has(name) {
      return (await store.get(idOf(name))) !== null;
    },
  };
}

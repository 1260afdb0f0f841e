// Keys, claims and payload sizes shared by Cloakroom, the floor and the peer,
// so all three move the same number of bytes.
import { type KeyObject, createPrivateKey, randomBytes } from 'node:crypto';
import {
  type AccessPolicy,
  type Cloakroom,
  type KeyProvider,
  type SessionStore,
  createCloakroom,
  generateSigningKey,
  staticKeys,
} from '@cloakroom/core';

export const ISSUER = 'https://auth.bench.example';
export const AUDIENCE = 'https://api.bench.example';
export const IDLE_MS = 30 * 60_000;

/** Application claims of every benchmark session (~120 bytes of JSON). */
export const CLAIMS: Readonly<Record<string, unknown>> = Object.freeze({
  role: 'editor',
  tenant: 'acme-industries',
  scope: 'documents:read documents:write comments:write',
  email: 'someone@example.com',
});

export interface Fixture {
  readonly keys: KeyProvider;
  /** The signing key as jose wants it, for the floor. */
  readonly signingKey: KeyObject;
  readonly kid: string;
  /** The primary storage key, for the floor's AES-256-GCM. */
  readonly storageKey: Uint8Array;
  readonly storageKeyInput: { readonly id: string; readonly key: Uint8Array };
  readonly indexKey: Uint8Array;
  readonly signingJwk: Record<string, unknown>;
}

/** Fresh random keys for one run: EdDSA signing (the default), one storage key, one index key. */
export async function makeFixture(): Promise<Fixture> {
  const generated = await generateSigningKey('EdDSA');
  const storageKeyInput = { id: 'bench-a', key: new Uint8Array(randomBytes(32)) };
  const indexKey = new Uint8Array(randomBytes(32));
  const keys = staticKeys({
    signing: [{ alg: 'EdDSA', privateKey: generated.privateJwk }],
    storage: [storageKeyInput],
    index: indexKey,
  });
  return {
    keys,
    signingKey: createPrivateKey({ key: generated.privateJwk, format: 'jwk' }),
    kid: generated.kid,
    storageKey: storageKeyInput.key,
    storageKeyInput,
    indexKey,
    signingJwk: generated.privateJwk as Record<string, unknown>,
  };
}

/** A session manager over `store` with the run's keys and default settings (policy, TTLs, ticket-bound). */
export function cloakroomOver(
  fixture: Fixture,
  store: SessionStore,
  extra: {
    keys?: KeyProvider;
    policy?: AccessPolicy;
    ticketBound?: boolean;
    /** Scaling cases: no touch writes or token renewals during the run. */
    noWrites?: boolean;
  } = {},
): Cloakroom {
  return createCloakroom({
    store,
    keys: extra.keys ?? fixture.keys,
    issuer: ISSUER,
    audience: AUDIENCE,
    ...(extra.policy === undefined ? {} : { policy: extra.policy }),
    ...(extra.ticketBound === undefined ? {} : { ticketBound: extra.ticketBound }),
    ...(extra.noWrites ? { touchIntervalMs: IDLE_MS, ttl: { token: 12 * 3600_000 } } : {}),
  });
}

/** Sizes measured from one real Cloakroom session, which the floor and the peer then match. */
export interface PayloadSizes {
  /** Bytes of the sealed record payload Cloakroom stores. */
  readonly sealed: number;
}

/** `n` characters of filler, so a payload reaches a target size. */
export function filler(n: number): string {
  return n > 0 ? 'x'.repeat(n) : '';
}

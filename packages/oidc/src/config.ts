// The vault's resolved configuration and the pieces every handler shares.
import type { Cloakroom, SessionStore } from '@cloakroom/core';
import { ConfigInvalid } from '@cloakroom/core';
import { createRemoteJWKSet } from 'jose';
import { hkdfSync } from 'node:crypto';
import { type ProviderMetadata, checkEndpoint, discover, postForm } from './discovery';
import type { OidcEvent, OidcEventSink } from './events';
import type { Jwks } from './id-token';
import { type MarkerStore, sessionStoreMarkers } from './markers';

/** The manager methods the vault calls (a `createCloakroom` result has them all). */
export type VaultCloakroom = Pick<
  Cloakroom,
  | 'deposit'
  | 'resolve'
  | 'refresh'
  | 'revoke'
  | 'revokeSession'
  | 'revokeSubject'
  | 'refreshUpstream'
>;

/** Options of {@link createOidcVault}. */
export interface OidcVaultOptions {
  /** The session manager; its `trustedIssuers` must hold a verifier named `issuer` for the access tokens. */
  readonly cloakroom: VaultCloakroom;
  /**
   * The manager's store: back-channel logout markers (`jti` replay, ended
   * `sid`, the links from a provider session to its Cloakroom sessions) live
   * there unless `markers` is given.
   */
  readonly store?: SessionStore;
  /** Where markers live instead of `store`. */
  readonly markers?: MarkerStore;
  /** The provider's issuer identifier (`iss`), exactly; also the trusted issuer's name. */
  readonly issuer: string;
  readonly clientId: string;
  /** Confidential clients: sent with HTTP Basic (`client_secret_basic`). Absent: a public client. */
  readonly clientSecret?: string;
  /** This app's callback URL, registered at the provider. */
  readonly redirectUri: string;
  /**
   * 32 random bytes (e.g. `generateSecret()`), the same on every instance:
   * seals the sign-in transaction cookie and the sid links, and keys the marker ids. Use it for nothing else.
   */
  readonly secret: Uint8Array;
  /** @default 'openid offline_access' */
  readonly scope?: string;
  /** RFC 8707 resource indicator, for providers that issue JWT access tokens per resource. */
  readonly resource?: string;
  /** Name of the transaction cookie. @default '__Host-cloakroom-oidc' (`oidc-tx` when `secureCookies` is off) */
  readonly cookieName?: string;
  /** Mark cookies `Secure` (use `false` only for http://localhost development). @default true */
  readonly secureCookies?: boolean;
  /** Lifetime of a sign-in transaction, in seconds. @default 600 */
  readonly transactionTtlSec?: number;
  /** Upstream refresh timing (see `refreshUpstream`). @default earlyMs 30_000, leaseMs 15_000 */
  readonly refresh?: {
    readonly earlyMs?: number;
    readonly leaseMs?: number;
    readonly timeoutMs?: number;
  };
  /** Oldest `iat` of a logout token accepted, in seconds. @default 300 */
  readonly logoutTokenMaxAgeSec?: number;
  /**
   * How long an ended `sid` is remembered, in ms: at least your sessions'
   * absolute lifetime. The marker ends, at their next `vault.session()`,
   * sessions of that `sid` a logout could not revoke at once (one rotated by
   * `cloakroom.refresh` since sign-in has a new id). @default 30 days
   */
  readonly sidMemoryMs?: number;
  /** @default 5 */
  readonly clockToleranceSec?: number;
  /** Deadline of one provider request, in ms. @default 5_000 */
  readonly timeoutMs?: number;
  /** Allow `http:` provider URLs on 127.0.0.1 / localhost / [::1] (tests). @default false */
  readonly allowInsecureLoopback?: boolean;
  /** Audit sink for the vault's own events; never receives a token. */
  readonly onEvent?: OidcEventSink;
}

export interface VaultConfig {
  readonly o: OidcVaultOptions;
  readonly cloakroom: VaultCloakroom;
  readonly markers: MarkerStore;
  readonly txKey: Uint8Array;
  /** Seals the sid links (sid-links.ts). */
  readonly linkKey: Uint8Array;
  readonly scope: string;
  readonly cookieName: string;
  readonly secureCookies: boolean;
  readonly tolerance: number;
  readonly timeoutMs: number;
  metadata(): Promise<ProviderMetadata>;
  jwks(): Promise<Jwks>;
  emit(event: OidcEvent): void;
  /** POST to a provider endpoint with client authentication. */
  post(
    url: string,
    form: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<{ status: number; body: Record<string, unknown> | undefined }>;
}

const derive = (secret: Uint8Array, info: string) =>
  new Uint8Array(hkdfSync('sha256', secret, new Uint8Array(0), info, 32));

export function resolveConfig(o: OidcVaultOptions): VaultConfig {
  if (!(o.secret instanceof Uint8Array) || o.secret.byteLength < 32) {
    throw new ConfigInvalid('secret must be at least 32 random bytes');
  }
  if (typeof o.clientId !== 'string' || o.clientId.length === 0) {
    throw new ConfigInvalid('clientId is required');
  }
  const insecure = o.allowInsecureLoopback === true;
  checkEndpoint(o.issuer, 'issuer', insecure);
  checkEndpoint(o.redirectUri, 'redirectUri', true);
  let markers = o.markers;
  if (markers === undefined) {
    if (o.store === undefined)
      throw new ConfigInvalid('give store (or markers) for back-channel logout');
    markers = sessionStoreMarkers(o.store, derive(o.secret, 'cloakroom-oidc markers'));
  }
  const timeoutMs = o.timeoutMs ?? 5_000;
  let meta: Promise<ProviderMetadata> | undefined;
  let jwks: Jwks | undefined;
  const metadata = () => {
    // A failed discovery is retried on the next call, not cached.
    meta ??= discover(o.issuer, insecure, timeoutMs).catch((error: unknown) => {
      meta = undefined;
      throw error;
    });
    return meta;
  };
  const secureCookies = o.secureCookies ?? true;
  const basic =
    o.clientSecret === undefined
      ? undefined
      : `Basic ${Buffer.from(
          `${encodeURIComponent(o.clientId)}:${encodeURIComponent(o.clientSecret)}`,
        ).toString('base64')}`;
  return {
    o,
    cloakroom: o.cloakroom,
    markers,
    txKey: derive(o.secret, 'cloakroom-oidc transaction'),
    linkKey: derive(o.secret, 'cloakroom-oidc sid links'),
    scope: o.scope ?? 'openid offline_access',
    cookieName: o.cookieName ?? (secureCookies ? '__Host-cloakroom-oidc' : 'oidc-tx'),
    secureCookies,
    tolerance: o.clockToleranceSec ?? 5,
    timeoutMs,
    metadata,
    async jwks() {
      jwks ??= createRemoteJWKSet(new URL((await metadata()).jwks_uri), {
        timeoutDuration: timeoutMs,
      });
      return jwks;
    },
    emit(event) {
      try {
        o.onEvent?.({ ...event, at: Date.now() });
      } catch {
        // An audit sink must not break a sign-in or a logout.
      }
    },
    post(url, form, signal) {
      const headers: Record<string, string> = basic === undefined ? {} : { authorization: basic };
      const body = basic === undefined ? { ...form, client_id: o.clientId } : form;
      return postForm(url, body, headers, signal ?? AbortSignal.timeout(timeoutMs));
    },
  };
}

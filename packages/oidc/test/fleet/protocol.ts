// Messages between the fleet test and its instances (one OS process each).

export interface InstanceConfig {
  readonly redisUrl: string;
  readonly prefix: string;
  readonly issuer: string;
  readonly resource: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
  /** base64url of the vault secret, storage key and index key; the signing key as a JWK. */
  readonly secret: string;
  readonly storage: string;
  readonly index: string;
  readonly signingJwk: Record<string, unknown>;
  readonly tickets: readonly string[];
  readonly durationMs: number;
  readonly inFlight: number;
  readonly earlyMs: number;
}

export interface InstanceReport {
  readonly type: 'report';
  readonly requests: number;
  /** `session()` answered null: the user would have been logged out. */
  readonly loggedOut: number;
  /** An answer whose access token had already expired. */
  readonly expiredTokens: number;
  /** Throws (UpstreamUnavailable or anything else), by error name. */
  readonly errors: Record<string, number>;
  /** Per ticket index: the distinct access tokens (their jti) this instance saw. */
  readonly tokens: readonly (readonly string[])[];
  /** Upstream outcomes seen, by status. */
  readonly upstream: Record<string, number>;
  readonly latencyMsP99: number;
}

export type FromInstance =
  | { readonly type: 'ready' }
  | InstanceReport
  | { readonly type: 'error'; readonly message: string };
export type ToInstance = { readonly type: 'go' };

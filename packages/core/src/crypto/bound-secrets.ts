// The in-memory forms of a ticket-bound record's secrets (record format 2,
// crypto/format.ts layer 3), carried as a live payload's `inner`. Internal.

/** What only the session's holder should read: the subject, claims and token. */
export interface SessionSecrets {
  /** Plaintext subject. */
  readonly sub: string;
  readonly claims: Record<string, unknown>;
  /** The signed JWT (for a deposited session: the provider's access token). */
  readonly token: string;
  /** Deposited sessions only: the provider's refresh token, if given. */
  readonly refreshToken?: string;
  /** Deposited sessions only: the provider's ID token, if given. */
  readonly idToken?: string;
}

const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/**
 * Secrets opened with the ticket (or about to be sealed for it), with what a
 * re-seal of the record needs so the ticket is not needed again: the ticket
 * mask Mt and, once the record was opened, its data key DK. Only `seal`
 * turns this into bytes; `JSON.stringify` throws, so it can never end up
 * inside a storage-key-only layer by mistake.
 */
export class OpenedSecrets {
  readonly #secrets: SessionSecrets;
  readonly #ticketMask: string;
  readonly #id: string;
  readonly #dataKey: Uint8Array | undefined;

  constructor(
    secrets: SessionSecrets,
    ticketMask: string,
    id: string,
    dataKey: Uint8Array | undefined,
  ) {
    this.#secrets = secrets;
    this.#ticketMask = ticketMask;
    this.#id = id;
    this.#dataKey = dataKey;
  }

  /** The subject, claims and tokens. */
  get secrets(): SessionSecrets {
    return this.#secrets;
  }
  /** Mt of the ticket these secrets belong to (32 Latin-1 characters). */
  get ticketMask(): string {
    return this.#ticketMask;
  }
  /** The session id these secrets were opened (or made) for. */
  get id(): string {
    return this.#id;
  }
  /** DK of the record they came from; `undefined` for secrets not yet sealed (a fresh key is drawn). */
  get dataKey(): Uint8Array | undefined {
    return this.#dataKey;
  }

  toJSON(): never {
    throw new TypeError('ticket-bound secrets cannot be serialized');
  }

  [INSPECT](): string {
    return '[OpenedSecrets]';
  }
}

/**
 * The body of a ticket-bound record read without the ticket (operators:
 * listSessions, revokeFamily): opaque until `openSecrets` is given the
 * ticket. It cannot be sealed again (the metadata copy resolve trusts lives
 * in the body, which only the ticket can rewrite).
 */
export class LockedSecrets {
  /** The record's stored bytes. */
  readonly sealed: Uint8Array;

  constructor(sealed: Uint8Array) {
    this.sealed = sealed;
  }

  toJSON(): never {
    throw new TypeError('ticket-bound secrets cannot be serialized');
  }

  [INSPECT](): string {
    return '[LockedSecrets]';
  }
}

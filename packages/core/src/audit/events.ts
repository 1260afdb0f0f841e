import type { Action } from '../contracts/policy';

/**
 * Why a ticket did not resolve. Goes to the audit event only; the caller of
 * `resolve` sees `null` whatever the reason (SEC-13).
 */
export type RejectReason =
  | 'malformed'
  | 'missing'
  | 'expired'
  | 'tampered'
  | 'rotated'
  | 'key-disabled'
  | 'token-expired';

interface EventBase {
  /** Epoch milliseconds from the manager's clock. */
  readonly at: number;
}

/**
 * Audit events. Ids are hashes only: `sessionId` is the SHA-256 of a ticket,
 * `subjectIndex` the HMAC of a subject. No event ever carries a ticket,
 * token, key, claim or plaintext subject (SEC-27).
 */
export type CloakroomEvent =
  | (EventBase & {
      readonly type: 'session.created';
      readonly sessionId: string;
      readonly subjectIndex: string;
      readonly family: string;
    })
  | (EventBase & {
      readonly type: 'session.refreshed';
      readonly sessionId: string;
      readonly nextSessionId: string;
      readonly subjectIndex: string;
      readonly family: string;
    })
  | (EventBase & {
      readonly type: 'session.touched';
      readonly sessionId: string;
      readonly tokenRenewed: boolean;
    })
  | (EventBase & {
      readonly type: 'session.revoked';
      readonly sessionId: string;
      readonly subjectIndex?: string;
      readonly count: number;
    })
  | (EventBase & {
      /** A session ended to make room under `sessionLimit` (`evict: 'oldest'`). */
      readonly type: 'session.evicted';
      /** The session that was ended. */
      readonly sessionId: string;
      readonly subjectIndex: string;
      /** The new session it made room for. */
      readonly bySessionId: string;
    })
  | (EventBase & {
      /** `create` or `deposit` was refused: the subject is at `sessionLimit.max` (`evict: 'refuse'`). */
      readonly type: 'session.limit_reached';
      readonly subjectIndex: string;
      readonly max: number;
    })
  | (EventBase & {
      readonly type: 'session.rejected';
      readonly operation: 'resolve' | 'refresh' | 'revoke';
      readonly reason: RejectReason;
      readonly sessionId?: string;
      /** With `reason: 'expired'`: which deadline passed. */
      readonly expiry?: 'idle' | 'absolute';
    })
  | (EventBase & {
      readonly type: 'session.reuse_detected';
      readonly sessionId: string;
      readonly subjectIndex: string;
      readonly family: string;
      /** Records of the family deleted as a consequence. */
      readonly revoked: number;
    })
  | (EventBase & {
      readonly type: 'subject.revoked';
      readonly subjectIndex: string;
      /** Sessions removed, as `listSessions` counts them (live ones; no rotated predecessors). */
      readonly count: number;
      /** Every record removed: the sessions plus rotated predecessors (tombstones) still in their grace. */
      readonly records: number;
      /** The trusted issuer's name, for a deposited session's subject (SEC-29). */
      readonly issuer?: string;
    })
  | (EventBase & {
      readonly type: 'store.rewrapped';
      readonly scanned: number;
      readonly rewrapped: number;
      readonly unreadable: number;
      readonly contended: number;
      readonly complete: boolean;
      readonly primaryKeyId: string;
    })
  | (EventBase & {
      readonly type: 'keys.rotated';
      readonly kind: 'signing' | 'storage';
      /** The new key's id (a kid or storage key id: public identifiers, not key material). */
      readonly keyId: string;
    })
  | (EventBase & {
      readonly type: 'keys.compromised';
      readonly keyId: string;
    })
  | (EventBase & {
      readonly type: 'store.swept';
      readonly count: number;
    })
  | (EventBase & {
      readonly type: 'access.denied';
      readonly action: Action;
      /** The policy's reason (a policy that threw reports `policy threw`). */
      readonly reason: string;
      readonly actorId?: string;
    });

/** The `type` of every {@link CloakroomEvent}. */
export type CloakroomEventType = CloakroomEvent['type'];

/** Receives audit events. Called synchronously; an exception it throws is reported to `onEventError`, never to the operation. */
export type EventSink = (event: CloakroomEvent) => void;

// SEC-29: turning what callers pass (a bare subject, or a subject and its
// issuer) into the one identity every subject-keyed operation uses.
import { InvalidArgument } from '../errors';
import type { SubjectRef } from '../contracts/identity';
import type { Actor } from '../contracts/policy';

/** A subject and its namespace; `issuer` undefined for the app's own subjects. Internal. */
export interface Identity {
  readonly subject: string;
  readonly issuer: string | undefined;
}

/** Validates a `SubjectInput`; throws `InvalidArgument` (never echoing the value). */
export function toIdentity(input: unknown): Identity {
  if (typeof input === 'string') return { subject: checkSubject(input), issuer: undefined };
  if (typeof input !== 'object' || input === null) {
    throw new InvalidArgument('subject must be a string or { subject, issuer? }');
  }
  const { subject, issuer } = input as { subject?: unknown; issuer?: unknown };
  if (
    issuer !== undefined &&
    (typeof issuer !== 'string' || issuer.length === 0 || issuer.length > 2048)
  ) {
    throw new InvalidArgument('issuer must be a non-empty string naming a trusted issuer');
  }
  return { subject: checkSubject(subject), issuer };
}

/** The `target` a policy sees: `issuer` present only for an issuer's subject. */
export function targetOf(identity: Identity): { subject: string; issuer?: string } {
  return identity.issuer === undefined
    ? { subject: identity.subject }
    : { subject: identity.subject, issuer: identity.issuer };
}

/**
 * The identity of a resolved session's user, as a {@link SubjectRef} that is
 * also an {@link Actor}: pass it as the actor of the user's own
 * `listSessions`, `revokeSession` and `revokeSubject`, so the default policy
 * (and `ownSessionsOnly`) sees the issuer as well as the subject (SEC-29).
 *
 * @example
 * ```ts
 * const session = await cloakroom.resolve(ticket);
 * if (session) await cloakroom.revokeSubject(identityOf(session), identityOf(session));
 * ```
 */
export function identityOf(session: {
  readonly subject: string;
  readonly issuer?: string | undefined;
}): SubjectRef & Actor {
  return session.issuer === undefined
    ? { subject: session.subject }
    : { subject: session.subject, issuer: session.issuer };
}

/** Validates a subject: a non-empty string of at most 1024 characters. */
export function checkSubject(subject: unknown): string {
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > 1024) {
    throw new InvalidArgument('subject must be a non-empty string of at most 1024 characters');
  }
  return subject;
}

/** Every action the manager authorizes. */
export type Action =
  | 'session.create'
  | 'session.resolve'
  | 'session.refresh'
  | 'session.revoke'
  | 'session.list'
  | 'subject.revoke'
  | 'keys.rotate'
  | 'store.rewrap'
  | 'store.sweep';

/** Lifecycle actions: allowed to the application by the default policy. */
export const LIFECYCLE_ACTIONS: readonly Action[] = [
  'session.create',
  'session.resolve',
  'session.refresh',
  'session.revoke',
];

/**
 * Who is acting. Omitted by the application acting for itself; given by an
 * operator tool, an admin endpoint, or a user acting on their own sessions.
 */
export interface Actor {
  /** Operator or service identity, for audit. Not a secret; not the session subject. */
  readonly id?: string;
  /** The subject (user id) the actor is signed in as, for own-sessions-only rules. */
  readonly subject?: string;
  /**
   * Who vouches for `subject`: the trusted issuer's name for a user of a
   * deposited session, absent for the app's own users. Own-sessions rules
   * compare the pair (SEC-29): `{ subject: '123' }` is not issuer B's `123`.
   * `identityOf(session)` builds both fields from a resolved session.
   */
  readonly issuer?: string | undefined;
  /** Roles the actor holds. */
  readonly roles?: readonly string[];
  /** Client address (IPv4 or IPv6 text), for address rules. */
  readonly ip?: string;
}

/** What a policy is asked. */
export interface AccessRequest {
  readonly action: Action;
  /** `undefined` when the application acts for itself. */
  readonly actor: Actor | undefined;
  /** What the action touches, when it targets a subject. */
  readonly target?: { readonly subject?: string; readonly issuer?: string };
}

/** A policy's answer. `reason` goes to the audit event, never to the caller's error message. */
export type Decision =
  | { readonly allow: true }
  | { readonly allow: false; readonly reason: string };

/**
 * Decides every manager operation. A policy that throws or returns anything
 * but a decision denies.
 *
 * @example
 * ```ts
 * const onlyAdmins: AccessPolicy = {
 *   name: 'only-admins',
 *   authorize: ({ actor }) => actor?.roles?.includes('admin')
 *     ? { allow: true } : { allow: false, reason: 'not an admin' },
 * };
 * ```
 */
export interface AccessPolicy {
  readonly name: string;
  /** Decide one request; throwing, or answering anything but a {@link Decision}, denies. */
  authorize(request: AccessRequest): Decision | Promise<Decision>;
}

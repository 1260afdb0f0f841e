import { type AccessPolicy, type Decision, LIFECYCLE_ACTIONS } from '../contracts/policy';
import { actsOnOwnSubject } from './same-subject';

const ALLOW: Decision = Object.freeze({ allow: true });
const lifecycle: ReadonlySet<string> = new Set(LIFECYCLE_ACTIONS);

/**
 * The policy in force when none is configured. The session lifecycle
 * (`session.create`, `session.resolve`, `session.refresh`, `session.revoke`)
 * is allowed to whoever holds the ticket. Listing sessions, revoking one
 * session by id and revoking a subject are allowed only to an actor acting
 * on its own subject: the same `subject` and the same `issuer` (SEC-29; pass
 * `identityOf(session)` as the actor). Operator actions (`keys.rotate`, `store.rewrap`,
 * `store.sweep`, and listing or revoking any other subject) are denied until
 * a policy allows them.
 *
 * @example
 * ```ts
 * // "Log out everywhere" for the signed-in user: allowed by the default policy.
 * await cloakroom.revokeSubject(userId, { subject: userId });
 * // The same for any resolved session, deposited or not:
 * await cloakroom.revokeSubject(identityOf(session), identityOf(session));
 * ```
 */
export function defaultPolicy(): AccessPolicy {
  return {
    name: 'default',
    authorize(request) {
      const { action, target } = request;
      // Holding the ticket is the proof for lifecycle actions on it; acting on a
      // subject (by id, list, revoke all) needs the actor to be that subject.
      if (lifecycle.has(action) && target?.subject === undefined) return ALLOW;
      if (action === 'session.list' || action === 'subject.revoke' || action === 'session.revoke') {
        if (actsOnOwnSubject(request)) return ALLOW;
        return { allow: false, reason: 'only the subject itself may do this by default' };
      }
      return { allow: false, reason: 'operator actions are denied unless a policy allows them' };
    },
  };
}

/**
 * Allows every action to everyone. An explicit opt-in for tests, scripts and
 * trusted single-tenant tools; never the default.
 *
 * @example
 * ```ts
 * const cloakroom = createCloakroom({ ...options, policy: allowAll() });
 * ```
 */
export function allowAll(): AccessPolicy {
  return { name: 'allow-all', authorize: () => ALLOW };
}

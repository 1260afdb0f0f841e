import type { AccessRequest } from '../contracts/policy';

/**
 * True when the actor is signed in as the request's target: the same subject
 * in the same namespace (SEC-29). A missing issuer on either side means the
 * app's own namespace, so `{ subject: '123' }` never matches issuer B's `123`.
 */
export function actsOnOwnSubject({ actor, target }: AccessRequest): boolean {
  return (
    actor?.subject !== undefined &&
    target?.subject !== undefined &&
    actor.subject === target.subject &&
    (actor.issuer ?? undefined) === (target.issuer ?? undefined)
  );
}

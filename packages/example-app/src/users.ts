import { createHash } from 'node:crypto';
import { timingSafeEqual } from '@cloakroom/core';

/** A demo account: the subject used for sessions and the roles it may take on. */
export interface DemoUser {
  readonly username: string;
  readonly displayName: string;
  /** Roles granted once the user enters admin mode (a ticket refresh). */
  readonly roles: readonly string[];
}

/**
 * The fixed demo accounts. Every one signs in with the same demo password;
 * a real app would look users up in its own database.
 */
export const DEMO_USERS: readonly DemoUser[] = [
  { username: 'alice', displayName: 'Alice', roles: [] },
  { username: 'bob', displayName: 'Bob', roles: [] },
  { username: 'admin', displayName: 'Administrator', roles: ['admin'] },
];

/** The demo password unless `CLOAKROOM_DEMO_PASSWORD` says otherwise. */
export const DEFAULT_DEMO_PASSWORD = 'cloakroom-demo';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/**
 * Checks a username and password against the demo accounts. Both sides are
 * hashed first so the comparison is constant-time whatever the input length,
 * and an unknown user costs the same work as a known one.
 *
 * @returns the user, or `undefined` when the name or password is wrong.
 * @example
 * ```ts
 * const user = checkPassword('alice', 'cloakroom-demo', 'cloakroom-demo');
 * ```
 */
export function checkPassword(
  username: string,
  password: string,
  demoPassword: string,
): DemoUser | undefined {
  const user = DEMO_USERS.find((u) => u.username === username);
  const ok = timingSafeEqual(digest(password), digest(demoPassword));
  return user !== undefined && ok ? user : undefined;
}

/** The demo account with this username, if any. */
export function findUser(username: string): DemoUser | undefined {
  return DEMO_USERS.find((u) => u.username === username);
}

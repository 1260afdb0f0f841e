// Who a subject is. A `sub` is unique only within whoever vouches for it: the
// app itself (`create`) or one trusted issuer (`deposit`). Everything keyed by
// subject takes the pair, never the bare `sub` (SEC-29).

/**
 * A subject and who vouches for it. `issuer` is the configured name of the
 * trusted issuer for deposited sessions (as in `ResolvedSession.issuer`), and
 * absent (or `undefined`) for the app's own sessions from `create`. A
 * `ResolvedSession` is a `SubjectRef` for the session's own subject.
 *
 * @example
 * ```ts
 * await cloakroom.revokeSubject({ subject: '123', issuer: 'https://idp-a.example' }, operator);
 * ```
 */
export interface SubjectRef {
  readonly subject: string;
  readonly issuer?: string | undefined;
}

/**
 * What subject-taking methods accept: a bare string is a subject of the
 * app's own namespace (`create`); a {@link SubjectRef} names the issuer too.
 *
 * @example
 * ```ts
 * await cloakroom.listSessions('user-42', { subject: 'user-42' });
 * await cloakroom.listSessions(session, identityOf(session)); // deposited or not
 * ```
 */
export type SubjectInput = string | SubjectRef;

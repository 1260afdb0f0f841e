// Audit events of the token vault, next to core's (`onEvent`). They carry ids
// and outcomes only: never a token, code, ticket or cookie.

/** What the vault reports to its `onEvent` sink. */
export type OidcEvent =
  | { readonly type: 'oidc.signed_in'; readonly sessionId: string }
  | {
      readonly type: 'oidc.sign_in_failed';
      readonly reason: string;
      readonly providerError?: string;
    }
  | {
      readonly type: 'oidc.refresh';
      readonly sessionId: string;
      /** `refreshed` here, `joined` another caller's refresh, or a failure outcome. */
      readonly outcome: 'refreshed' | 'joined' | 'unavailable' | 'rejected';
    }
  | {
      readonly type: 'oidc.backchannel_logout';
      /** `revoked`: acted on; otherwise why the logout token was refused. */
      readonly outcome: 'revoked' | 'rejected' | 'replayed';
      readonly reason?: string;
      /** Sessions removed at once (by `sub`: all of the user's; by `sid`: those linked at sign-in). */
      readonly count?: number;
      readonly by?: 'sid' | 'sub';
    }
  | {
      readonly type: 'oidc.upstream_revocation';
      readonly sessionId?: string;
      readonly token: 'refresh_token' | 'access_token';
      readonly outcome: 'revoked' | 'failed' | 'unsupported';
      /** HTTP status or error name of a failure; never the response body. */
      readonly detail?: string;
    }
  | { readonly type: 'oidc.sid_ended'; readonly sessionId: string };

/** Where the vault's events go. A sink that throws is ignored. */
export type OidcEventSink = (event: OidcEvent & { readonly at: number }) => void;

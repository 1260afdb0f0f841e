// @cloakroom/oidc: the token vault of a backend-for-frontend (issue #17, SEC-34).
export { createOidcVault, type OidcVault, type VaultSession, type SignOutResult } from './vault';
export type { OidcVaultOptions, VaultCloakroom } from './config';
export type { BeginSignInOptions, SignInStart, SignInResult } from './sign-in';
export type { AuthenticationInfo } from './id-token';
export type { BackchannelLogoutResponse } from './backchannel';
export type { RevocationReport, RevocationOutcome } from './revocation';
export { requireAuth, type AuthRequirement, type AuthDecision } from './step-up';
export { SignInFailed, UpstreamUnavailable, type SignInFailure } from './errors';
export type { OidcEvent, OidcEventSink } from './events';
export { sessionStoreMarkers, type MarkerStore } from './markers';
export type { ProviderMetadata } from './discovery';

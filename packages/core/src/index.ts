export * from './errors';
export type * from './contracts/store';
export type * from './contracts/cipher';
export type * from './contracts/keys';
export type * from './contracts/policy';
export type * from './contracts/identity';
export { identityOf } from './session/identity';
export { LIFECYCLE_ACTIONS } from './contracts/policy';
export {
  generateTicket,
  parseTicket,
  sessionIdOf,
  TICKET_PREFIX,
  TICKET_LENGTH,
  type Ticket,
} from './ticket/ticket';
export { subjectIndex } from './crypto/subject-index';
export { timingSafeEqual } from './crypto/constant-time';
export { createAesGcmCipher, type AesGcmCipherOptions } from './crypto/aes-gcm-cipher';
export { sealUnderTicket, openUnderTicket } from './crypto/ticket-seal';
export {
  serializeTicketCookie,
  clearTicketCookie,
  readTicketCookie,
  type TicketCookieOptions,
} from './ticket/cookie';
export {
  staticKeys,
  type StaticKeysOptions,
  type StaticKeyProvider,
  type SigningKeyInput,
  type StorageKeyInput,
} from './keys/static-keys';
export { generateSigningKey, generateSecret, type GeneratedSigningKey } from './keys/generate-keys';
export {
  signToken,
  verifyToken,
  type VerifyTokenOptions,
  type VerifiedToken,
  type TokenRejectReason,
} from './jwt/jwt';
export {
  createCloakroom,
  type Cloakroom,
  type CreateArgs,
  type DepositTokensFor,
} from './session/manager';
export type {
  Claims,
  CreatedSession,
  CreateOptions,
  DefaultDepositedClaims,
  DepositedSession,
  OwnSession,
  ResolvedSession,
  SessionInfo,
} from './session/types';
export type { RefreshResult } from './session/refresh';
export type {
  RefreshUpstreamOptions,
  UpstreamGrant,
  UpstreamRefresher,
  UpstreamResult,
} from './session/upstream';
export type { HealthCheck, HealthOptions, HealthReport } from './session/health';
export type {
  CloakroomOptions,
  NearCacheOptions,
  SessionLimitOptions,
  TtlOptions,
} from './session/options';
export type { CloakroomEvent, CloakroomEventType, EventSink, RejectReason } from './audit/events';
export { defaultPolicy, allowAll } from './policy/default-policy';
export type { RewrapOptions, RewrapProgress, RewrapReport } from './session/operator';
export {
  rolePolicy,
  ipAllowlist,
  ownSessionsOnly,
  allOf,
  anyOf,
  ALL_ACTIONS,
  OPERATOR_ACTIONS,
  type ActionPattern,
  type RolePolicyOptions,
  type IpAllowlistOptions,
} from './policy/policies';
export {
  clientAddress,
  type AddressSource,
  type ClientAddressOptions,
} from './policy/client-address';
export { jsonLinesSink, loggerSink, type AuditLogger } from './audit/audit-sink';
export type { DepositTokens, TokenIssuer } from './contracts/token-issuer';
export {
  claimProtection,
  type ClaimProtectionOptions,
  type ClaimProtector,
  type ClaimEncryptionAlgorithm,
} from './claims/claim-protection';
export {
  openProtectedClaims,
  MAX_PROTECTED_CLAIMS_LENGTH,
  type OpenProtectedClaimsOptions,
  type ClaimRejectReason,
} from './claims/claim-open';
export {
  type ExternalAlgorithm,
  type ExternalTokenRejectReason,
  type TrustedIssuer,
  type TrustedIssuerOptions,
  type VerifiedExternalToken,
  trustedIssuer,
} from './issuers/trusted-issuer';
export { rotatingKeys, type RotatingKeyProvider } from './keys/rotating/rotating-keys';
export type {
  RotatingKeysOptions,
  RotatingSigningOptions,
  RotatingStorageOptions,
  RotatingSchedule,
} from './keys/rotating/options';
export type { MasterKeyInput, ExternalMasterKey } from './keys/rotating/master-key';
export type { KeySetStatus, KeyStatus } from './keys/rotating/status';
export { jwksHeaders, type JwksHeadersOptions, type JwksHeaders } from './keys/jwks-http';
export {
  MAX_STORE_KEY_LENGTH,
  MAX_SUBJECT_LIMIT,
  assertKeySetName,
  assertKeySetWrite,
  assertRecordVersion,
  assertSessionRecord,
  assertStoreKey,
  assertSubjectLimit,
  isStoreKey,
  isUint8Array,
} from './store-kit/checks';
export { encodeKeySetEntry, decodeKeySetEntry } from './store-kit/key-set-codec';
export {
  KEY_SYNC_CHANNEL,
  REWRAP_PROGRESS_CHANNEL,
  SESSION_OPERATIONS,
  STORE_METHODS,
  sessionChannelName,
  storeChannelName,
  type KeySyncTraceMessage,
  type RewrapProgressMessage,
  type SessionOperation,
  type SessionTraceMessage,
  type StoreMethod,
  type StoreTraceMessage,
} from './diagnostics/channels';

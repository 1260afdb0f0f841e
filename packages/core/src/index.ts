export * from './errors';
export type * from './store-contract';
export type * from './cipher-contract';
export type * from './key-contract';
export type * from './policy-contract';
export { LIFECYCLE_ACTIONS } from './policy-contract';
export { generateTicket, parseTicket, sessionIdOf, TICKET_PREFIX, TICKET_LENGTH } from './ticket';
export { subjectIndex } from './subject-index';
export { timingSafeEqual } from './constant-time';
export { createAesGcmCipher, type AesGcmCipherOptions } from './aes-gcm-cipher';
export { sealUnderTicket, openUnderTicket } from './ticket-seal';
export {
  serializeTicketCookie,
  clearTicketCookie,
  readTicketCookie,
  type TicketCookieOptions,
} from './cookie';
export {
  staticKeys,
  type StaticKeysOptions,
  type SigningKeyInput,
  type StorageKeyInput,
} from './static-keys';
export { generateSigningKey, generateSecret, type GeneratedSigningKey } from './generate-keys';
export {
  signToken,
  verifyToken,
  type VerifyTokenOptions,
  type VerifiedToken,
  type TokenRejectReason,
} from './jwt';
export {
  createCloakroom,
  type Cloakroom,
  type CreatedSession,
  type CreateOptions,
  type ResolvedSession,
  type SessionInfo,
} from './manager';
export type { RefreshResult } from './refresh';
export type { CloakroomOptions, TtlOptions } from './cloakroom-options';
export type { CloakroomEvent, CloakroomEventType, EventSink, RejectReason } from './events';
export { defaultPolicy, allowAll } from './default-policy';
export type { RewrapOptions, RewrapProgress, RewrapReport } from './operator';
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
} from './policies';
export { clientAddress, type AddressSource } from './client-address';
export { jsonLinesSink, loggerSink, type AuditLogger } from './audit-sink';
export type { DepositTokens, TokenIssuer } from './deposit';
export {
  claimProtection,
  type ClaimProtectionOptions,
  type ClaimProtector,
  type ClaimEncryptionAlgorithm,
} from './claim-protection';
export {
  openProtectedClaims,
  MAX_PROTECTED_CLAIMS_LENGTH,
  type OpenProtectedClaimsOptions,
  type ClaimRejectReason,
} from './claim-open';
export {
  type ExternalAlgorithm,
  type ExternalTokenRejectReason,
  type TrustedIssuer,
  type TrustedIssuerOptions,
  type VerifiedExternalToken,
  trustedIssuer,
} from './trusted-issuer';
export { rotatingKeys, type RotatingKeyProvider } from './rotating-keys';
export type {
  RotatingKeysOptions,
  RotatingSigningOptions,
  RotatingStorageOptions,
  RotatingSchedule,
} from './rotating-options';
export type { MasterKeyInput, ExternalMasterKey } from './rotating-master-key';
export type { KeySetStatus, KeyStatus } from './rotating-status';
export { jwksHeaders, type JwksHeadersOptions, type JwksHeaders } from './jwks-http';
export {
  MAX_STORE_KEY_LENGTH,
  assertRecordVersion,
  assertSessionRecord,
  assertStoreKey,
  isUint8Array,
} from './record-validation';

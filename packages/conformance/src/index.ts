export { describeSessionStore } from './describe-session-store';
export { describeKeySetStore } from './describe-key-set-store';
export { describeCipher } from './describe-cipher';
export { sessionStoreChecks } from './session-store-checks';
export { keySetStoreChecks, type KeySetStoreCheck } from './key-set-checks';
export { cipherChecks, type CipherCheck } from './cipher-checks';
export { ConformanceFailure, type ConformanceCheck, type SessionStoreCheck } from './harness';
export type {
  CallerClientFixture,
  OptionalStoreMethod,
  SessionStoreFactory,
  SessionStoreSuiteOptions,
  KeySetStoreFactory,
  KeySetStoreSuiteOptions,
  CipherFactory,
  CipherSuiteOptions,
} from './options';

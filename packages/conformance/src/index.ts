export { describeSessionStore } from './describe-session-store';
export { sessionStoreChecks } from './session-store-checks';
export { ConformanceFailure, type ConformanceCheck, type SessionStoreCheck } from './harness';
export type {
  SessionStoreFactory,
  SessionStoreSuiteOptions,
  KeySetStoreFactory,
  KeySetStoreSuiteOptions,
  CipherFactory,
  CipherSuiteOptions,
} from './options';

import { malformedRecordCheck, scanCursorCheck, scanLimitCheck } from './checks/arguments';
import { atRestCheck } from './checks/at-rest';
import { closeCheck, insertConflictCheck, missingCheck } from './checks/basics';
import { callerClientCheck, closedCheck } from './checks/closed';
import { declarationCheck, hostileIdCheck } from './checks/declaration';
import {
  concurrentInsertCheck,
  concurrentReplaceCheck,
  concurrentRotateCheck,
  rotateAtomicCheck,
  rotateConflictCheck,
} from './checks/concurrency';
import { errorMessagesCheck } from './checks/error-messages';
import { expiredInsertCheck, expiryBoundaryCheck, sweepCheck } from './checks/expiry';
import { modelCheck } from './checks/model';
import { callTimeCopyCheck, copiesCheck, idShapeCheck, payloadCheck } from './checks/payloads';
import { scanPagingCheck } from './checks/scan';
import { limitArgumentsCheck, limitConcurrentCheck, limitEvictCheck } from './checks/subject-limit';
import {
  limitFreeCheck,
  limitRotateCheck,
  limitRotateSeatlessCheck,
} from './checks/subject-limit-seats';
import { subjectFollowsCheck, subjectGhostCheck } from './checks/subject-index';
import { unreachableCheck } from './checks/unavailable';
import { judged, type SessionStoreCheck } from './harness';
import { watchCloseCheck, watchSubjectCheck, watchWritesCheck } from './checks/watch';

/**
 * Every check of the session-store suite, each callable on its own with
 * `run(factory, options)` (checks whose `appliesTo` is false for the options
 * are skipped by {@link describeSessionStore}). The suite's own tests use
 * this list to prove each check fails against a deliberately broken store.
 *
 * @example
 * ```ts
 * for (const check of sessionStoreChecks) {
 *   if (!check.appliesTo || check.appliesTo(options)) await check.run(factory, options);
 * }
 * ```
 */
export const sessionStoreChecks: readonly SessionStoreCheck[] = judged([
  modelCheck,
  insertConflictCheck,
  missingCheck,
  concurrentInsertCheck,
  concurrentReplaceCheck,
  concurrentRotateCheck,
  rotateConflictCheck,
  rotateAtomicCheck,
  expiryBoundaryCheck,
  expiredInsertCheck,
  sweepCheck,
  subjectFollowsCheck,
  subjectGhostCheck,
  scanPagingCheck,
  payloadCheck,
  idShapeCheck,
  copiesCheck,
  callTimeCopyCheck,
  atRestCheck,
  unreachableCheck,
  declarationCheck,
  hostileIdCheck,
  malformedRecordCheck,
  scanLimitCheck,
  scanCursorCheck,
  errorMessagesCheck,
  closeCheck,
  closedCheck,
  callerClientCheck,
  watchWritesCheck,
  watchSubjectCheck,
  watchCloseCheck,
  limitEvictCheck,
  limitRotateCheck,
  limitRotateSeatlessCheck,
  limitFreeCheck,
  limitConcurrentCheck,
  limitArgumentsCheck,
]);

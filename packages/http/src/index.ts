export {
  createCloakroomHttp,
  type Begin,
  type CloakroomHttp,
  type HttpRequestView,
  type RouteOptions,
} from './kit';
export type { CloakroomContext, Refreshed, SignedIn } from './context';
export {
  csrfDecision,
  normalizeOrigin,
  type CsrfPolicy,
  type CsrfRequest,
  type CsrfVerdict,
} from './csrf';
export { createCsrfTokens, type CsrfTokens } from './csrf-token';
export { readCredentials, type Credentials, type TicketSource } from './credentials';
export { answerForError, httpAnswer, type HttpAnswer, type HttpErrorCode } from './answers';
export { resolveHttpOptions, type CloakroomHttpOptions, type ResolvedHttpOptions } from './options';
export type { Session } from './session';

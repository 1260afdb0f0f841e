// `@cloakroom/core/web`: the parts of core that need no Node built-in, for
// code that runs on Web-standard runtimes (Next.js middleware, edge
// functions, Cloudflare Workers, Deno Deploy, a browser): read and write the
// ticket cookie and check a ticket's shape. Resolving a session needs the
// Node entry (node:crypto, a store client); see docs/guides/edge.md.
export {
  CloakroomError,
  ConfigInvalid,
  InvalidArgument,
  TicketMalformed,
  isCloakroomError,
  type ErrorCode,
} from './errors';
export { TICKET_LENGTH, TICKET_PREFIX, type Ticket, parseTicket } from './ticket/ticket-shape';
export {
  clearTicketCookie,
  readTicketCookie,
  serializeTicketCookie,
  type TicketCookieOptions,
} from './ticket/cookie';

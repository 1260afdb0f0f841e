import {
  type Cloakroom,
  type TicketCookieOptions,
  clearTicketCookie,
  isCloakroomError,
  readTicketCookie,
  serializeTicketCookie,
} from '@cloakroom/core';

/** Options of {@link createNextRoutes}. */
export interface NextRecipeOptions {
  /**
   * Your password check: true when `password` is right for `username`. The
   * recipe uses the username as the session subject; use your user id.
   */
  readonly verifyPassword: (username: string, password: string) => Promise<boolean>;
  /**
   * Ticket cookie attributes, used to set, read and clear it. Keep the
   * defaults in production; see the docs for plain-http development.
   * @default {} (`__Host-cloakroom`, Secure, HttpOnly, SameSite=Lax, Path=/)
   */
  readonly cookie?: TicketCookieOptions;
}

/** A Next.js App Router route handler: the web-standard `Request` in, `Response` out. */
export type RouteHandler = (request: Request) => Promise<Response>;

/** One handler per route file: `app/api/<route>/route.ts` exports the method it needs. */
export interface NextRoutes {
  /** `app/api/login/route.ts` */
  readonly login: { readonly POST: RouteHandler };
  /** `app/api/me/route.ts` */
  readonly me: { readonly GET: RouteHandler };
  /** `app/api/elevate/route.ts` */
  readonly elevate: { readonly POST: RouteHandler };
  /** `app/api/logout/route.ts` */
  readonly logout: { readonly POST: RouteHandler };
  /** `app/api/logout-others/route.ts` */
  readonly logoutOthers: { readonly POST: RouteHandler };
  /** `app/api/sessions/route.ts` */
  readonly sessions: { readonly GET: RouteHandler };
}

const MAX_BODY = 4096;

/**
 * Next.js App Router route handlers for the session routes: sign in, the
 * signed-in user, elevate, logout, log out other devices, list sessions.
 * Written against the web `Request`/`Response` only, so they run (and are
 * tested) without Next itself. The ticket travels only in the cookie. A
 * store outage answers 503, never 401. They need the Node.js runtime.
 *
 * @example
 * // app/api/me/route.ts
 * export const runtime = 'nodejs';
 * export const { GET } = createNextRoutes(cloakroom, { verifyPassword }).me;
 */
export function createNextRoutes(cloakroom: Cloakroom, options: NextRecipeOptions): NextRoutes {
  const cookie = options.cookie ?? {};

  // Missing, expired, revoked, rotated and forged tickets all come back as null.
  // Route handlers see no socket, so no client address goes to the policy.
  const signedIn = async (request: Request) => {
    const ticket = readTicketCookie(request.headers.get('cookie'), cookie);
    if (ticket === undefined) return null;
    const session = await cloakroom.resolve(ticket);
    return session === null ? null : { ticket, session };
  };

  const login: RouteHandler = async (request) => {
    const body = await readJson(request);
    const username = field(body, 'username');
    const password = field(body, 'password');
    if (username === undefined || password === undefined) {
      return json(400, { error: 'bad_request' });
    }
    if (!(await options.verifyPassword(username, password))) {
      return json(401, { error: 'invalid_credentials' });
    }
    const label = request.headers.get('user-agent')?.slice(0, 200);
    const created = await cloakroom.create(
      username,
      { elevated: false },
      label === undefined ? {} : { label },
    );
    // The cookie lives as long as the session could; the server enforces the idle timeout.
    const expiresAt = created.absoluteExpiresAt;
    return json(
      200,
      { subject: username },
      serializeTicketCookie(created.ticket, { ...cookie, expiresAt }),
    );
  };

  const me: RouteHandler = async (request) => {
    const current = await signedIn(request);
    if (current === null) return json(401, { error: 'unauthorized' });
    const { subject, claims, expiresAt } = current.session;
    return json(200, { subject, claims, expiresAt });
  };

  const elevate: RouteHandler = async (request) => {
    const current = await signedIn(request);
    if (current === null) return json(401, { error: 'unauthorized' });
    const password = field(await readJson(request), 'password');
    if (password === undefined) return json(400, { error: 'bad_request' });
    if (!(await options.verifyPassword(current.session.subject, password))) {
      return json(403, { error: 'invalid_credentials' });
    }
    // A privilege change gets a new ticket; the old one stops working (SEC-06).
    const claims = { ...current.session.claims, elevated: true };
    const next = await cloakroom.refresh(current.ticket, { claims });
    if (next === null) return json(401, { error: 'unauthorized' });
    const expiresAt = current.session.absoluteExpiresAt;
    return json(200, { claims }, serializeTicketCookie(next.ticket, { ...cookie, expiresAt }));
  };

  const logout: RouteHandler = async (request) => {
    const ticket = readTicketCookie(request.headers.get('cookie'), cookie);
    if (ticket !== undefined) await cloakroom.revoke(ticket);
    return json(204, undefined, clearTicketCookie(cookie));
  };

  const logoutOthers: RouteHandler = async (request) => {
    const current = await signedIn(request);
    if (current === null) return json(401, { error: 'unauthorized' });
    const { subject, sessionId } = current.session;
    // The default policy lets users list and revoke only their own sessions: say who acts.
    const actor = { subject };
    let revoked = 0;
    for (const other of await cloakroom.listSessions(subject, actor)) {
      if (other.sessionId === sessionId) continue;
      if (await cloakroom.revokeSession(subject, other.sessionId, actor)) revoked++;
    }
    return json(200, { revoked });
  };

  const sessions: RouteHandler = async (request) => {
    const current = await signedIn(request);
    if (current === null) return json(401, { error: 'unauthorized' });
    const { subject, sessionId } = current.session;
    const list = await cloakroom.listSessions(subject, { subject });
    return json(200, { sessions: list.map((s) => ({ ...s, current: s.sessionId === sessionId })) });
  };

  return {
    login: { POST: guarded(login) },
    me: { GET: guarded(me) },
    elevate: { POST: guarded(elevate) },
    logout: { POST: guarded(logout) },
    logoutOthers: { POST: guarded(logoutOthers) },
    sessions: { GET: guarded(sessions) },
  };
}

/** Maps Cloakroom's errors to answers; anything else is rethrown for Next to answer 500. */
function guarded(handler: RouteHandler): RouteHandler {
  return async (request) => {
    try {
      return await handler(request);
    } catch (error) {
      if (isCloakroomError(error)) {
        // The store is down: the session may well be fine, so never answer 401.
        if (error.code === 'ERR_STORE_UNAVAILABLE' || error.code === 'ERR_STORE_FULL') {
          return json(503, { error: 'unavailable' });
        }
        if (error.code === 'ERR_ACCESS_DENIED') return json(403, { error: 'forbidden' });
      }
      throw error;
    }
  };
}

function json(status: number, body?: unknown, setCookie?: string): Response {
  // Answers about a session are per user: no shared cache may keep them.
  const headers = new Headers({ 'cache-control': 'no-store' });
  if (setCookie !== undefined) headers.append('set-cookie', setCookie);
  if (body === undefined) return new Response(null, { status, headers });
  headers.set('content-type', 'application/json');
  return new Response(JSON.stringify(body), { status, headers });
}

/**
 * The JSON body, or undefined unless it is sent as `application/json` (which
 * a cross-site form cannot send without a CORS preflight), parses, and fits
 * in {@link MAX_BODY} bytes (reading stops there).
 */
async function readJson(request: Request): Promise<unknown> {
  if (!/^application\/json\b/i.test(request.headers.get('content-type') ?? '')) return undefined;
  if (request.body === null) return undefined;
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}

/** A non-empty string of at most 256 characters from a JSON body, or undefined. */
function field(body: unknown, name: string): string | undefined {
  const value =
    typeof body === 'object' && body !== null && Object.hasOwn(body, name)
      ? (body as Record<string, unknown>)[name]
      : undefined;
  return typeof value === 'string' && value.length > 0 && value.length <= 256 ? value : undefined;
}

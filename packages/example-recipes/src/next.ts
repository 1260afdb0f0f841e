import type { Cloakroom, TicketCookieOptions } from '@cloakroom/core';
import { cloakroomNext } from '@cloakroom/next';

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
export type RouteHandler = (request: Request, segment?: unknown) => Promise<Response>;

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
 * signed-in user, elevate, logout, log out other devices, list sessions, on
 * `@cloakroom/next` (cookie, CSRF checks, 503 on a store outage). In server
 * components read the session with the same adapter's `getSession()`.
 * They need the Node.js runtime.
 *
 * @example
 * // app/api/me/route.ts
 * export const runtime = 'nodejs';
 * export const { GET } = createNextRoutes(cloakroom, { verifyPassword }).me;
 */
export function createNextRoutes(
  cloakroom: Cloakroom<{ elevated: boolean }>,
  options: NextRecipeOptions,
): NextRoutes {
  const auth = cloakroomNext(cloakroom, {
    ...(options.cookie === undefined ? {} : { cookie: options.cookie }),
  });
  const required = { required: true } as const;

  const login = auth.route(async (request, session) => {
    const body = await readJson(request);
    const username = field(body, 'username');
    const password = field(body, 'password');
    if (username === undefined || password === undefined) {
      return Response.json({ error: 'bad_request' }, { status: 400 });
    }
    if (!(await options.verifyPassword(username, password))) {
      return Response.json({ error: 'invalid_credentials' }, { status: 401 });
    }
    const label = request.headers.get('user-agent')?.slice(0, 200);
    await session.signIn(username, { elevated: false }, label === undefined ? {} : { label });
    return Response.json({ subject: username });
  });

  const me = auth.route(async (_request, { session }) => {
    const { subject, claims, expiresAt } = session!;
    return Response.json({ subject, claims, expiresAt });
  }, required);

  const elevate = auth.route(async (request, context) => {
    const session = context.session!;
    const password = field(await readJson(request), 'password');
    if (password === undefined) return Response.json({ error: 'bad_request' }, { status: 400 });
    if (!(await options.verifyPassword(session.subject, password))) {
      return Response.json({ error: 'invalid_credentials' }, { status: 403 });
    }
    // A privilege change gets a new ticket; the old one stops working (SEC-06).
    const claims = { ...session.claims, elevated: true };
    if ((await context.refresh({ claims })) === null) {
      return Response.json({ error: 'unauthorized' }, { status: 401 });
    }
    return Response.json({ claims });
  }, required);

  const logout = auth.route(async (_request, context) => {
    await context.signOut();
    return new Response(null, { status: 204 });
  });

  const logoutOthers = auth.route(async (_request, { session, actor }) => {
    // The default policy lets users list and revoke only their own sessions: the actor says who.
    let revoked = 0;
    for (const other of await cloakroom.listSessions(session!, actor)) {
      if (other.sessionId === session!.sessionId) continue;
      if (await cloakroom.revokeSession(session!, other.sessionId, actor)) revoked++;
    }
    return Response.json({ revoked });
  }, required);

  const sessions = auth.route(async (_request, { session, actor }) => {
    const list = await cloakroom.listSessions(session!, actor);
    return Response.json({
      sessions: list.map((s) => ({ ...s, current: s.sessionId === session!.sessionId })),
    });
  }, required);

  return {
    login: { POST: login },
    me: { GET: me },
    elevate: { POST: elevate },
    logout: { POST: logout },
    logoutOthers: { POST: logoutOthers },
    sessions: { GET: sessions },
  };
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

import type { Cloakroom, TicketCookieOptions } from '@cloakroom/core';
import { type CloakroomEnv, cloakroomHono } from '@cloakroom/hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';

/** Options of {@link createHonoApp}. */
export interface HonoRecipeOptions {
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

type Env = CloakroomEnv<{ elevated: boolean }>;

/**
 * A Hono 4 app, served by `@hono/node-server`, with the session routes:
 * `POST /login`, `GET /me`, `POST /elevate`, `POST /logout`,
 * `POST /logout-others`, `GET /sessions`, on `@cloakroom/hono` (cookie,
 * CSRF checks, 503 on a store outage).
 *
 * @example
 * serve({ fetch: createHonoApp(cloakroom, { verifyPassword }).fetch, port: 3000 });
 */
export function createHonoApp(
  cloakroom: Cloakroom<{ elevated: boolean }>,
  options: HonoRecipeOptions,
): Hono<Env> {
  const auth = cloakroomHono(cloakroom, {
    ...(options.cookie === undefined ? {} : { cookie: options.cookie }),
    // The socket's peer address, as @hono/node-server reports it, for the audit events.
    clientAddress: (c) => getConnInfo(c).remote.address,
  });
  const app = new Hono<Env>();
  app.use(bodyLimit({ maxSize: 4096 }), auth.middleware());

  app.post('/login', async (c) => {
    const body = await readJson(c);
    const username = field(body, 'username');
    const password = field(body, 'password');
    if (username === undefined || password === undefined) {
      return c.json({ error: 'bad_request' }, 400);
    }
    if (!(await options.verifyPassword(username, password))) {
      return c.json({ error: 'invalid_credentials' }, 401);
    }
    const label = c.req.header('user-agent')?.slice(0, 200);
    await c
      .get('cloakroom')
      .signIn(username, { elevated: false }, label === undefined ? {} : { label });
    return c.json({ subject: username });
  });

  app.get('/me', auth.required, (c) => {
    const { subject, claims, expiresAt } = c.get('session')!;
    return c.json({ subject, claims, expiresAt });
  });

  app.post('/elevate', auth.required, async (c) => {
    const session = c.get('session')!;
    const password = field(await readJson(c), 'password');
    if (password === undefined) return c.json({ error: 'bad_request' }, 400);
    if (!(await options.verifyPassword(session.subject, password))) {
      return c.json({ error: 'invalid_credentials' }, 403);
    }
    // A privilege change gets a new ticket; the old one stops working (SEC-06).
    const claims = { ...session.claims, elevated: true };
    if ((await c.get('cloakroom').refresh({ claims })) === null) {
      return c.json({ error: 'unauthorized' }, 401);
    }
    return c.json({ claims });
  });

  app.post('/logout', async (c) => {
    await c.get('cloakroom').signOut();
    return c.body(null, 204);
  });

  app.post('/logout-others', auth.required, async (c) => {
    const session = c.get('session')!;
    // The default policy lets users list and revoke only their own sessions: the actor says who.
    const actor = c.get('cloakroom').actor;
    let revoked = 0;
    for (const other of await cloakroom.listSessions(session, actor)) {
      if (other.sessionId === session.sessionId) continue;
      if (await cloakroom.revokeSession(session, other.sessionId, actor)) revoked++;
    }
    return c.json({ revoked });
  });

  app.get('/sessions', auth.required, async (c) => {
    const session = c.get('session')!;
    const list = await cloakroom.listSessions(session, c.get('cloakroom').actor);
    return c.json({
      sessions: list.map((s) => ({ ...s, current: s.sessionId === session.sessionId })),
    });
  });

  // The adapter's middleware replaces this answer with 503/403 for Cloakroom errors.
  app.onError((error) => {
    if (error instanceof HTTPException) return error.getResponse();
    // Log what you need here, but never the Cookie header.
    return Response.json({ error: 'internal' }, { status: 500 });
  });
  return app;
}

/**
 * The JSON body, or undefined unless it is sent as `application/json` (which
 * a cross-site form cannot send without a CORS preflight) and parses.
 */
async function readJson(c: Context): Promise<unknown> {
  if (!/^application\/json\b/i.test(c.req.header('content-type') ?? '')) return undefined;
  return c.req.json().catch(() => undefined);
}

/** A non-empty string of at most 256 characters from a JSON body, or undefined. */
function field(body: unknown, name: string): string | undefined {
  const value =
    typeof body === 'object' && body !== null && Object.hasOwn(body, name)
      ? (body as Record<string, unknown>)[name]
      : undefined;
  return typeof value === 'string' && value.length > 0 && value.length <= 256 ? value : undefined;
}

import {
  type Actor,
  type Cloakroom,
  type TicketCookieOptions,
  clearTicketCookie,
  clientAddress,
  isCloakroomError,
  readTicketCookie,
  serializeTicketCookie,
} from '@cloakroom/core';
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
  /** Proxies whose `X-Forwarded-For` is believed for the audit address. @default [] */
  readonly trustedProxies?: readonly string[];
}

/**
 * A Hono 4 app, served by `@hono/node-server`, with the session routes:
 * `POST /login`, `GET /me`, `POST /elevate`, `POST /logout`,
 * `POST /logout-others`, `GET /sessions`. The ticket travels only in the
 * cookie. A store outage answers 503, never 401.
 *
 * @example
 * serve({ fetch: createHonoApp(cloakroom, { verifyPassword }).fetch, port: 3000 });
 */
export function createHonoApp(cloakroom: Cloakroom, options: HonoRecipeOptions): Hono {
  const cookie = options.cookie ?? {};
  const addressOf = clientAddress({ trustedProxies: options.trustedProxies ?? [] });
  const app = new Hono();
  app.use(async (c, next) => {
    await next();
    // Answers about a session are per user: no shared cache may keep them.
    c.header('Cache-Control', 'no-store');
  });
  app.use(bodyLimit({ maxSize: 4096 }));

  // The client address goes to the access policy and the audit events.
  const actorOf = (c: Context): Actor => {
    const ip = addressOf({
      // The socket's peer address, as @hono/node-server reports it.
      remoteAddress: getConnInfo(c).remote.address,
      forwardedFor: c.req.header('x-forwarded-for'),
    });
    return ip === undefined ? {} : { ip };
  };

  // Missing, expired, revoked, rotated and forged tickets all come back as null.
  const signedIn = async (c: Context) => {
    const ticket = readTicketCookie(c.req.header('cookie'), cookie);
    if (ticket === undefined) return null;
    const session = await cloakroom.resolve(ticket, actorOf(c));
    return session === null ? null : { ticket, session };
  };

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
    const created = await cloakroom.create(
      username,
      { elevated: false },
      label === undefined ? {} : { label },
      actorOf(c),
    );
    // The cookie lives as long as the session could; the server enforces the idle timeout.
    const expiresAt = created.absoluteExpiresAt;
    c.header('Set-Cookie', serializeTicketCookie(created.ticket, { ...cookie, expiresAt }));
    return c.json({ subject: username });
  });

  app.get('/me', async (c) => {
    const current = await signedIn(c);
    if (current === null) return c.json({ error: 'unauthorized' }, 401);
    const { subject, claims, expiresAt } = current.session;
    return c.json({ subject, claims, expiresAt });
  });

  app.post('/elevate', async (c) => {
    const current = await signedIn(c);
    if (current === null) return c.json({ error: 'unauthorized' }, 401);
    const password = field(await readJson(c), 'password');
    if (password === undefined) return c.json({ error: 'bad_request' }, 400);
    if (!(await options.verifyPassword(current.session.subject, password))) {
      return c.json({ error: 'invalid_credentials' }, 403);
    }
    // A privilege change gets a new ticket; the old one stops working (SEC-06).
    const claims = { ...current.session.claims, elevated: true };
    const next = await cloakroom.refresh(current.ticket, { claims }, actorOf(c));
    if (next === null) return c.json({ error: 'unauthorized' }, 401);
    const expiresAt = current.session.absoluteExpiresAt;
    c.header('Set-Cookie', serializeTicketCookie(next.ticket, { ...cookie, expiresAt }));
    return c.json({ claims });
  });

  app.post('/logout', async (c) => {
    const ticket = readTicketCookie(c.req.header('cookie'), cookie);
    if (ticket !== undefined) await cloakroom.revoke(ticket, actorOf(c));
    c.header('Set-Cookie', clearTicketCookie(cookie));
    return c.body(null, 204);
  });

  app.post('/logout-others', async (c) => {
    const current = await signedIn(c);
    if (current === null) return c.json({ error: 'unauthorized' }, 401);
    const { subject, sessionId } = current.session;
    // The default policy lets users list and revoke only their own sessions: say who acts.
    const actor = { ...actorOf(c), subject };
    let revoked = 0;
    for (const other of await cloakroom.listSessions(subject, actor)) {
      if (other.sessionId === sessionId) continue;
      if (await cloakroom.revokeSession(subject, other.sessionId, actor)) revoked++;
    }
    return c.json({ revoked });
  });

  app.get('/sessions', async (c) => {
    const current = await signedIn(c);
    if (current === null) return c.json({ error: 'unauthorized' }, 401);
    const { subject, sessionId } = current.session;
    const list = await cloakroom.listSessions(subject, { ...actorOf(c), subject });
    return c.json({ sessions: list.map((s) => ({ ...s, current: s.sessionId === sessionId })) });
  });

  app.onError((error, c) => {
    if (isCloakroomError(error)) {
      // The store is down: the session may well be fine, so never answer 401.
      if (error.code === 'ERR_STORE_UNAVAILABLE' || error.code === 'ERR_STORE_FULL') {
        return c.json({ error: 'unavailable' }, 503);
      }
      if (error.code === 'ERR_ACCESS_DENIED') return c.json({ error: 'forbidden' }, 403);
    }
    if (error instanceof HTTPException) return error.getResponse();
    // Log what you need here, but never the Cookie header.
    return c.json({ error: 'internal' }, 500);
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

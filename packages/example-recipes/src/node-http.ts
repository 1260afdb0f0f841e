import type { IncomingMessage, ServerResponse } from 'node:http';
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

/** Options of {@link createNodeHandler}. */
export interface NodeRecipeOptions {
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

/** The request listener type `http.createServer` takes. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;

const MAX_BODY = 4096;

/**
 * A `node:http` request listener with the session routes: `POST /login`,
 * `GET /me`, `POST /elevate`, `POST /logout`, `POST /logout-others`,
 * `GET /sessions`; anything else is 404. The ticket travels only in the
 * cookie. A store outage answers 503, never 401.
 *
 * @example
 * createServer(createNodeHandler(cloakroom, { verifyPassword })).listen(3000);
 */
export function createNodeHandler(cloakroom: Cloakroom, options: NodeRecipeOptions): NodeHandler {
  const cookie = options.cookie ?? {};
  const addressOf = clientAddress({ trustedProxies: options.trustedProxies ?? [] });

  // The client address goes to the access policy and the audit events.
  const actorOf = (req: IncomingMessage): Actor => {
    const ip = addressOf({
      remoteAddress: req.socket.remoteAddress,
      forwardedFor: req.headers['x-forwarded-for'],
    });
    return ip === undefined ? {} : { ip };
  };

  // Missing, expired, revoked, rotated and forged tickets all come back as null.
  const signedIn = async (req: IncomingMessage) => {
    const ticket = readTicketCookie(req.headers.cookie, cookie);
    if (ticket === undefined) return null;
    const session = await cloakroom.resolve(ticket, actorOf(req));
    return session === null ? null : { ticket, session };
  };

  const login = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await readJson(req);
    const username = field(body, 'username');
    const password = field(body, 'password');
    if (username === undefined || password === undefined) {
      return send(res, 400, { error: 'bad_request' });
    }
    if (!(await options.verifyPassword(username, password))) {
      return send(res, 401, { error: 'invalid_credentials' });
    }
    const label = req.headers['user-agent']?.slice(0, 200);
    const created = await cloakroom.create(
      username,
      { elevated: false },
      label === undefined ? {} : { label },
      actorOf(req),
    );
    // The cookie lives as long as the session could; the server enforces the idle timeout.
    const expiresAt = created.absoluteExpiresAt;
    res.setHeader('Set-Cookie', serializeTicketCookie(created.ticket, { ...cookie, expiresAt }));
    send(res, 200, { subject: username });
  };

  const me = async (req: IncomingMessage, res: ServerResponse) => {
    const current = await signedIn(req);
    if (current === null) return send(res, 401, { error: 'unauthorized' });
    const { subject, claims, expiresAt } = current.session;
    send(res, 200, { subject, claims, expiresAt });
  };

  const elevate = async (req: IncomingMessage, res: ServerResponse) => {
    const current = await signedIn(req);
    if (current === null) return send(res, 401, { error: 'unauthorized' });
    const password = field(await readJson(req), 'password');
    if (password === undefined) return send(res, 400, { error: 'bad_request' });
    if (!(await options.verifyPassword(current.session.subject, password))) {
      return send(res, 403, { error: 'invalid_credentials' });
    }
    // A privilege change gets a new ticket; the old one stops working (SEC-06).
    const claims = { ...current.session.claims, elevated: true };
    const next = await cloakroom.refresh(current.ticket, { claims }, actorOf(req));
    if (next === null) return send(res, 401, { error: 'unauthorized' });
    const expiresAt = current.session.absoluteExpiresAt;
    res.setHeader('Set-Cookie', serializeTicketCookie(next.ticket, { ...cookie, expiresAt }));
    send(res, 200, { claims });
  };

  const logout = async (req: IncomingMessage, res: ServerResponse) => {
    const ticket = readTicketCookie(req.headers.cookie, cookie);
    if (ticket !== undefined) await cloakroom.revoke(ticket, actorOf(req));
    res.setHeader('Set-Cookie', clearTicketCookie(cookie));
    send(res, 204);
  };

  const logoutOthers = async (req: IncomingMessage, res: ServerResponse) => {
    const current = await signedIn(req);
    if (current === null) return send(res, 401, { error: 'unauthorized' });
    const { subject, sessionId } = current.session;
    // The default policy lets users list and revoke only their own sessions: say who acts.
    const actor = { ...actorOf(req), subject };
    let revoked = 0;
    for (const other of await cloakroom.listSessions(subject, actor)) {
      if (other.sessionId === sessionId) continue;
      if (await cloakroom.revokeSession(subject, other.sessionId, actor)) revoked++;
    }
    send(res, 200, { revoked });
  };

  const sessions = async (req: IncomingMessage, res: ServerResponse) => {
    const current = await signedIn(req);
    if (current === null) return send(res, 401, { error: 'unauthorized' });
    const { subject, sessionId } = current.session;
    const list = await cloakroom.listSessions(subject, { ...actorOf(req), subject });
    send(res, 200, { sessions: list.map((s) => ({ ...s, current: s.sessionId === sessionId })) });
  };

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>> = {
    'POST /login': login,
    'GET /me': me,
    'POST /elevate': elevate,
    'POST /logout': logout,
    'POST /logout-others': logoutOthers,
    'GET /sessions': sessions,
  };

  return (req, res) => {
    // Only the path picks the route: nothing is ever read from the query string.
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const route = Object.hasOwn(routes, `${req.method} ${path}`)
      ? routes[`${req.method} ${path}`]
      : undefined;
    if (route === undefined) return send(res, 404, { error: 'not_found' });
    route(req, res).catch((error: unknown) => {
      res.removeHeader('Set-Cookie');
      if (isCloakroomError(error)) {
        // The store is down: the session may well be fine, so never answer 401.
        if (error.code === 'ERR_STORE_UNAVAILABLE' || error.code === 'ERR_STORE_FULL') {
          return send(res, 503, { error: 'unavailable' });
        }
        if (error.code === 'ERR_ACCESS_DENIED') return send(res, 403, { error: 'forbidden' });
      }
      // Log what you need here, but never the Cookie header.
      send(res, 500, { error: 'internal' });
    });
  };
}

function send(res: ServerResponse, status: number, body?: unknown): void {
  if (res.headersSent) return void res.destroy();
  // Answers about a session are per user: no shared cache may keep them.
  res.setHeader('Cache-Control', 'no-store');
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.writeHead(status).end(JSON.stringify(body));
}

/** The JSON body, or undefined when it is not JSON, malformed or over {@link MAX_BODY} bytes. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Drain the whole body (so the connection stays usable) but keep at most MAX_BODY bytes.
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= MAX_BODY) chunks.push(chunk);
  }
  if (size > MAX_BODY || !/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    return undefined;
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

import type { IncomingMessage, ServerResponse } from 'node:http';
import { type Cloakroom, type TicketCookieOptions, clientAddress } from '@cloakroom/core';
import { type CloakroomContext, createCloakroomHttp } from '@cloakroom/http';

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
  /**
   * The app's own origin (`https://app.example.com`) for the CSRF check. Plain
   * `node:http` does not know whether it sits behind TLS.
   * @default `http://` plus the request's `Host`
   */
  readonly origin?: string;
}

/** The request listener type `http.createServer` takes. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;

type Claims = { elevated: boolean };
type Route = (
  req: IncomingMessage,
  res: ServerResponse,
  cx: CloakroomContext<Claims>,
) => Promise<void>;

const MAX_BODY = 4096;

/**
 * A `node:http` request listener with the session routes: `POST /login`,
 * `GET /me`, `POST /elevate`, `POST /logout`, `POST /logout-others`,
 * `GET /sessions`; anything else is 404. Built on `@cloakroom/http`, the kit
 * under every framework adapter (cookie, CSRF checks, 503 on a store
 * outage): the way to wire Cloakroom into a server that has no adapter.
 *
 * @example
 * createServer(createNodeHandler(cloakroom, { verifyPassword })).listen(3000);
 */
export function createNodeHandler(
  cloakroom: Cloakroom<{ elevated: boolean }>,
  options: NodeRecipeOptions,
): NodeHandler {
  const kit = createCloakroomHttp(cloakroom, {
    ...(options.cookie === undefined ? {} : { cookie: options.cookie }),
    ...(options.origin === undefined ? {} : { origin: options.origin }),
  });
  const addressOf = clientAddress({ trustedProxies: options.trustedProxies ?? [] });

  const login: Route = async (req, res, cx) => {
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
    await cx.signIn(username, { elevated: false }, label === undefined ? {} : { label });
    send(res, 200, { subject: username });
  };

  const me: Route = async (_req, res, cx) => {
    const { subject, claims, expiresAt } = cx.session!;
    send(res, 200, { subject, claims, expiresAt });
  };

  const elevate: Route = async (req, res, cx) => {
    const session = cx.session!;
    const password = field(await readJson(req), 'password');
    if (password === undefined) return send(res, 400, { error: 'bad_request' });
    if (!(await options.verifyPassword(session.subject, password))) {
      return send(res, 403, { error: 'invalid_credentials' });
    }
    // A privilege change gets a new ticket; the old one stops working (SEC-06).
    const claims = { ...session.claims, elevated: true };
    if ((await cx.refresh({ claims })) === null) return send(res, 401, { error: 'unauthorized' });
    send(res, 200, { claims });
  };

  const logout: Route = async (_req, res, cx) => {
    await cx.signOut();
    send(res, 204);
  };

  const logoutOthers: Route = async (_req, res, cx) => {
    const session = cx.session!;
    // The default policy lets users list and revoke only their own sessions: the actor says who.
    let revoked = 0;
    for (const other of await cloakroom.listSessions(session, cx.actor)) {
      if (other.sessionId === session.sessionId) continue;
      if (await cloakroom.revokeSession(session, other.sessionId, cx.actor)) revoked++;
    }
    send(res, 200, { revoked });
  };

  const sessions: Route = async (_req, res, cx) => {
    const session = cx.session!;
    const list = await cloakroom.listSessions(session, cx.actor);
    send(res, 200, {
      sessions: list.map((s) => ({ ...s, current: s.sessionId === session.sessionId })),
    });
  };

  // The route, and whether it needs a session.
  const routes: Record<string, readonly [Route, boolean]> = {
    'POST /login': [login, false],
    'GET /me': [me, true],
    'POST /elevate': [elevate, true],
    'POST /logout': [logout, false],
    'POST /logout-others': [logoutOthers, true],
    'GET /sessions': [sessions, true],
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    // Only the path picks the route: nothing is ever read from the query string.
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const key = `${req.method} ${path}`;
    const found = Object.hasOwn(routes, key) ? routes[key] : undefined;
    if (found === undefined) return send(res, 404, { error: 'not_found' });
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    };
    const ip = addressOf({
      remoteAddress: req.socket.remoteAddress,
      forwardedFor: req.headers['x-forwarded-for'],
    });
    // CSRF checks, then the session (503 when the store is down, never 401).
    const begun = await kit.begin({
      method: req.method ?? 'GET',
      header,
      origin: req.headers.host === undefined ? undefined : `http://${req.headers.host}`,
      ip,
      setCookie: (cookie) => res.appendHeader('Set-Cookie', cookie),
    });
    if (begun.kind === 'answer')
      return send(res, begun.answer.status, begun.answer.body, begun.answer.headers);
    const [route, needsSession] = found;
    if (needsSession && begun.context.session === null) {
      return send(res, 401, { error: 'unauthorized' });
    }
    await route(req, res, begun.context);
  };

  return (req, res) => {
    handle(req, res).catch((error: unknown) => {
      // 503 for a store outage, 403 for AccessDenied.
      const answer = kit.answerForError(error);
      if (answer !== undefined) return send(res, answer.status, answer.body, answer.headers);
      // Log what you need here, but never the Cookie header.
      send(res, 500, { error: 'internal' });
    });
  };
}

function send(
  res: ServerResponse,
  status: number,
  body?: unknown,
  headers: Readonly<Record<string, string>> = {},
): void {
  if (res.headersSent) return void res.destroy();
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
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

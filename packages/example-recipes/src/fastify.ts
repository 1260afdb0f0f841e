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
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';

/** Options of {@link createFastifyApp}. */
export interface FastifyRecipeOptions {
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
 * A Fastify 5 app with the session routes: `POST /login`, `GET /me`,
 * `POST /elevate`, `POST /logout`, `POST /logout-others`, `GET /sessions`.
 * The ticket travels only in the cookie. A store outage answers 503, never 401.
 *
 * @example
 * const app = createFastifyApp(cloakroom, { verifyPassword });
 * await app.listen({ port: 3000 });
 */
export function createFastifyApp(
  cloakroom: Cloakroom,
  options: FastifyRecipeOptions,
): FastifyInstance {
  const cookie = options.cookie ?? {};
  const addressOf = clientAddress({ trustedProxies: options.trustedProxies ?? [] });
  const app = Fastify({ bodyLimit: 4096 });
  app.addHook('onRequest', async (_request, reply) => {
    // Answers about a session are per user: no shared cache may keep them.
    reply.header('cache-control', 'no-store');
  });

  // The client address goes to the access policy and the audit events.
  const actorOf = (request: FastifyRequest): Actor => {
    const ip = addressOf({
      remoteAddress: request.socket.remoteAddress,
      forwardedFor: request.headers['x-forwarded-for'],
    });
    return ip === undefined ? {} : { ip };
  };

  // Missing, expired, revoked, rotated and forged tickets all come back as null.
  const signedIn = async (request: FastifyRequest) => {
    const ticket = readTicketCookie(request.headers.cookie, cookie);
    if (ticket === undefined) return null;
    const session = await cloakroom.resolve(ticket, actorOf(request));
    return session === null ? null : { ticket, session };
  };

  app.post('/login', async (request, reply) => {
    const username = field(request.body, 'username');
    const password = field(request.body, 'password');
    if (username === undefined || password === undefined) {
      return reply.code(400).send({ error: 'bad_request' });
    }
    if (!(await options.verifyPassword(username, password))) {
      return reply.code(401).send({ error: 'invalid_credentials' });
    }
    const label = request.headers['user-agent']?.slice(0, 200);
    const created = await cloakroom.create(
      username,
      { elevated: false },
      label === undefined ? {} : { label },
      actorOf(request),
    );
    // The cookie lives as long as the session could; the server enforces the idle timeout.
    const expiresAt = created.absoluteExpiresAt;
    reply.header('set-cookie', serializeTicketCookie(created.ticket, { ...cookie, expiresAt }));
    return reply.send({ subject: username });
  });

  app.get('/me', async (request, reply) => {
    const current = await signedIn(request);
    if (current === null) return reply.code(401).send({ error: 'unauthorized' });
    const { subject, claims, expiresAt } = current.session;
    return reply.send({ subject, claims, expiresAt });
  });

  app.post('/elevate', async (request, reply) => {
    const current = await signedIn(request);
    if (current === null) return reply.code(401).send({ error: 'unauthorized' });
    const password = field(request.body, 'password');
    if (password === undefined) return reply.code(400).send({ error: 'bad_request' });
    if (!(await options.verifyPassword(current.session.subject, password))) {
      return reply.code(403).send({ error: 'invalid_credentials' });
    }
    // A privilege change gets a new ticket; the old one stops working (SEC-06).
    const claims = { ...current.session.claims, elevated: true };
    const next = await cloakroom.refresh(current.ticket, { claims }, actorOf(request));
    if (next === null) return reply.code(401).send({ error: 'unauthorized' });
    const expiresAt = current.session.absoluteExpiresAt;
    reply.header('set-cookie', serializeTicketCookie(next.ticket, { ...cookie, expiresAt }));
    return reply.send({ claims });
  });

  app.post('/logout', async (request, reply) => {
    const ticket = readTicketCookie(request.headers.cookie, cookie);
    if (ticket !== undefined) await cloakroom.revoke(ticket, actorOf(request));
    reply.header('set-cookie', clearTicketCookie(cookie));
    return reply.code(204).send();
  });

  app.post('/logout-others', async (request, reply) => {
    const current = await signedIn(request);
    if (current === null) return reply.code(401).send({ error: 'unauthorized' });
    const { subject, sessionId } = current.session;
    // The default policy lets users list and revoke only their own sessions: say who acts.
    const actor = { ...actorOf(request), subject };
    let revoked = 0;
    for (const other of await cloakroom.listSessions(subject, actor)) {
      if (other.sessionId === sessionId) continue;
      if (await cloakroom.revokeSession(subject, other.sessionId, actor)) revoked++;
    }
    return reply.send({ revoked });
  });

  app.get('/sessions', async (request, reply) => {
    const current = await signedIn(request);
    if (current === null) return reply.code(401).send({ error: 'unauthorized' });
    const { subject, sessionId } = current.session;
    const list = await cloakroom.listSessions(subject, { ...actorOf(request), subject });
    return reply.send({
      sessions: list.map((s) => ({ ...s, current: s.sessionId === sessionId })),
    });
  });

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    reply.removeHeader('set-cookie');
    if (isCloakroomError(error)) {
      // The store is down: the session may well be fine, so never answer 401.
      if (error.code === 'ERR_STORE_UNAVAILABLE' || error.code === 'ERR_STORE_FULL') {
        return reply.code(503).send({ error: 'unavailable' });
      }
      if (error.code === 'ERR_ACCESS_DENIED') return reply.code(403).send({ error: 'forbidden' });
    }
    // Rethrown, Fastify's default handler answers (a malformed JSON body: 400; else 500).
    throw error;
  });
  return app;
}

/** A non-empty string of at most 256 characters from a JSON body, or undefined. */
function field(body: unknown, name: string): string | undefined {
  const value =
    typeof body === 'object' && body !== null && Object.hasOwn(body, name)
      ? (body as Record<string, unknown>)[name]
      : undefined;
  return typeof value === 'string' && value.length > 0 && value.length <= 256 ? value : undefined;
}

import type { Cloakroom, TicketCookieOptions } from '@cloakroom/core';
import { cloakroomFastify } from '@cloakroom/fastify';
import Fastify, { type FastifyInstance } from 'fastify';

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
  /** Proxies whose `X-Forwarded-*` headers Fastify believes (its `trustProxy`). @default [] */
  readonly trustedProxies?: readonly string[];
}

/**
 * A Fastify 5 app with the session routes: `POST /login`, `GET /me`,
 * `POST /elevate`, `POST /logout`, `POST /logout-others`, `GET /sessions`,
 * on `@cloakroom/fastify` (cookie, CSRF checks, 503 on a store outage).
 *
 * @example
 * const app = await createFastifyApp(cloakroom, { verifyPassword });
 * await app.listen({ port: 3000 });
 */
export async function createFastifyApp(
  cloakroom: Cloakroom<{ elevated: boolean }>,
  options: FastifyRecipeOptions,
): Promise<FastifyInstance> {
  const auth = cloakroomFastify(cloakroom, {
    ...(options.cookie === undefined ? {} : { cookie: options.cookie }),
  });
  // request.ip (the audit address) and the request's own origin honour only these proxies.
  const app = Fastify({ bodyLimit: 4096, trustProxy: [...(options.trustedProxies ?? [])] });
  await app.register(auth.plugin);

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
    await request.cloakroom.signIn(
      username,
      { elevated: false },
      label === undefined ? {} : { label },
    );
    return reply.send({ subject: username });
  });

  app.get('/me', { preHandler: auth.required }, async (request) => {
    const { subject, claims, expiresAt } = auth.session(request)!;
    return { subject, claims, expiresAt };
  });

  app.post('/elevate', { preHandler: auth.required }, async (request, reply) => {
    const session = auth.session(request)!;
    const password = field(request.body, 'password');
    if (password === undefined) return reply.code(400).send({ error: 'bad_request' });
    if (!(await options.verifyPassword(session.subject, password))) {
      return reply.code(403).send({ error: 'invalid_credentials' });
    }
    // A privilege change gets a new ticket; the old one stops working (SEC-06).
    const claims = { ...session.claims, elevated: true };
    if ((await auth.context(request).refresh({ claims })) === null) {
      return reply.code(401).send({ error: 'unauthorized' });
    }
    return reply.send({ claims });
  });

  app.post('/logout', async (request, reply) => {
    await request.cloakroom.signOut();
    return reply.code(204).send();
  });

  app.post('/logout-others', { preHandler: auth.required }, async (request) => {
    const session = auth.session(request)!;
    // The default policy lets users list and revoke only their own sessions: the actor says who.
    const actor = request.cloakroom.actor;
    let revoked = 0;
    for (const other of await cloakroom.listSessions(session, actor)) {
      if (other.sessionId === session.sessionId) continue;
      if (await cloakroom.revokeSession(session, other.sessionId, actor)) revoked++;
    }
    return { revoked };
  });

  app.get('/sessions', { preHandler: auth.required }, async (request) => {
    const session = auth.session(request)!;
    const list = await cloakroom.listSessions(session, request.cloakroom.actor);
    return { sessions: list.map((s) => ({ ...s, current: s.sessionId === session.sessionId })) };
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

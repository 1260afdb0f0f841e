import type { Cloakroom, TicketCookieOptions } from '@cloakroom/core';
import { cloakroomExpress } from '@cloakroom/express';
import express, { type Express } from 'express';

/** Options of {@link createExpressApp}. */
export interface ExpressRecipeOptions {
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
  /** Proxies whose `X-Forwarded-*` headers Express believes (its `trust proxy`). @default [] */
  readonly trustedProxies?: readonly string[];
}

/**
 * An Express 5 app with the session routes: `POST /login`, `GET /me`,
 * `POST /elevate`, `POST /logout`, `POST /logout-others`, `GET /sessions`,
 * on `@cloakroom/express` (cookie, CSRF checks, 503 on a store outage).
 *
 * @example
 * const app = createExpressApp(cloakroom, { verifyPassword });
 * app.listen(3000);
 */
export function createExpressApp(
  cloakroom: Cloakroom<{ elevated: boolean }>,
  options: ExpressRecipeOptions,
): Express {
  const auth = cloakroomExpress(cloakroom, {
    ...(options.cookie === undefined ? {} : { cookie: options.cookie }),
  });
  const app = express();
  app.disable('x-powered-by');
  // req.ip (the audit address) and the request's own origin honour only these proxies.
  app.set('trust proxy', [...(options.trustedProxies ?? [])]);
  app.use(express.json({ limit: '4kb' }), auth.middleware());

  app.post('/login', async (req, res) => {
    const username = field(req.body, 'username');
    const password = field(req.body, 'password');
    if (username === undefined || password === undefined) {
      res.status(400).json({ error: 'bad_request' });
      return;
    }
    if (!(await options.verifyPassword(username, password))) {
      res.status(401).json({ error: 'invalid_credentials' });
      return;
    }
    const label = req.get('user-agent')?.slice(0, 200);
    await req.cloakroom.signIn(username, { elevated: false }, label === undefined ? {} : { label });
    res.json({ subject: username });
  });

  app.get('/me', auth.required, (req, res) => {
    const { subject, claims, expiresAt } = auth.session(req)!;
    res.json({ subject, claims, expiresAt });
  });

  app.post('/elevate', auth.required, async (req, res) => {
    const session = auth.session(req)!;
    const password = field(req.body, 'password');
    if (password === undefined) {
      res.status(400).json({ error: 'bad_request' });
      return;
    }
    if (!(await options.verifyPassword(session.subject, password))) {
      res.status(403).json({ error: 'invalid_credentials' });
      return;
    }
    // A privilege change gets a new ticket; the old one stops working (SEC-06).
    const claims = { ...session.claims, elevated: true };
    if ((await auth.context(req).refresh({ claims })) === null) {
      res.status(401).json({ error: 'unauthorized' });
      return;
    }
    res.json({ claims });
  });

  app.post('/logout', async (req, res) => {
    await req.cloakroom.signOut();
    res.status(204).end();
  });

  app.post('/logout-others', auth.required, async (req, res) => {
    const session = auth.session(req)!;
    // The default policy lets users list and revoke only their own sessions: the actor says who.
    const actor = req.cloakroom.actor;
    let revoked = 0;
    for (const other of await cloakroom.listSessions(session, actor)) {
      if (other.sessionId === session.sessionId) continue;
      if (await cloakroom.revokeSession(session, other.sessionId, actor)) revoked++;
    }
    res.json({ revoked });
  });

  app.get('/sessions', auth.required, async (req, res) => {
    const session = auth.session(req)!;
    const list = await cloakroom.listSessions(session, req.cloakroom.actor);
    res.json({ sessions: list.map((s) => ({ ...s, current: s.sessionId === session.sessionId })) });
  });

  // 503 for a store outage, 403 for AccessDenied; Express answers the rest.
  app.use(auth.errorHandler);
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

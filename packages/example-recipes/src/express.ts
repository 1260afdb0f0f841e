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
import express, { type Express, type NextFunction, type Request, type Response } from 'express';

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
  /** Proxies whose `X-Forwarded-For` is believed for the audit address. @default [] */
  readonly trustedProxies?: readonly string[];
}

/**
 * An Express 5 app with the session routes: `POST /login`, `GET /me`,
 * `POST /elevate`, `POST /logout`, `POST /logout-others`, `GET /sessions`.
 * The ticket travels only in the cookie. A store outage answers 503, never 401.
 *
 * @example
 * const app = createExpressApp(cloakroom, { verifyPassword });
 * app.listen(3000);
 */
export function createExpressApp(cloakroom: Cloakroom, options: ExpressRecipeOptions): Express {
  const cookie = options.cookie ?? {};
  const addressOf = clientAddress({ trustedProxies: options.trustedProxies ?? [] });
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '4kb' }));
  app.use((_req, res, next) => {
    // Answers about a session are per user: no shared cache may keep them.
    res.set('Cache-Control', 'no-store');
    next();
  });

  // The client address goes to the access policy and the audit events.
  const actorOf = (req: Request): Actor => {
    const ip = addressOf({
      remoteAddress: req.socket.remoteAddress,
      forwardedFor: req.headers['x-forwarded-for'],
    });
    return ip === undefined ? {} : { ip };
  };

  // Missing, expired, revoked, rotated and forged tickets all come back as null.
  const signedIn = async (req: Request) => {
    const ticket = readTicketCookie(req.headers.cookie, cookie);
    if (ticket === undefined) return null;
    const session = await cloakroom.resolve(ticket, actorOf(req));
    return session === null ? null : { ticket, session };
  };

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
    const created = await cloakroom.create(
      username,
      { elevated: false },
      label === undefined ? {} : { label },
      actorOf(req),
    );
    // The cookie lives as long as the session could; the server enforces the idle timeout.
    const expiresAt = created.absoluteExpiresAt;
    res.append('Set-Cookie', serializeTicketCookie(created.ticket, { ...cookie, expiresAt }));
    res.json({ subject: username });
  });

  app.get('/me', async (req, res) => {
    const current = await signedIn(req);
    if (current === null) {
      res.status(401).json({ error: 'unauthorized' });
      return;
    }
    const { subject, claims, expiresAt } = current.session;
    res.json({ subject, claims, expiresAt });
  });

  app.post('/elevate', async (req, res) => {
    const current = await signedIn(req);
    if (current === null) {
      res.status(401).json({ error: 'unauthorized' });
      return;
    }
    const password = field(req.body, 'password');
    if (password === undefined) {
      res.status(400).json({ error: 'bad_request' });
      return;
    }
    if (!(await options.verifyPassword(current.session.subject, password))) {
      res.status(403).json({ error: 'invalid_credentials' });
      return;
    }
    // A privilege change gets a new ticket; the old one stops working (SEC-06).
    const claims = { ...current.session.claims, elevated: true };
    const next = await cloakroom.refresh(current.ticket, { claims }, actorOf(req));
    if (next === null) {
      res.status(401).json({ error: 'unauthorized' });
      return;
    }
    const expiresAt = current.session.absoluteExpiresAt;
    res.append('Set-Cookie', serializeTicketCookie(next.ticket, { ...cookie, expiresAt }));
    res.json({ claims });
  });

  app.post('/logout', async (req, res) => {
    const ticket = readTicketCookie(req.headers.cookie, cookie);
    if (ticket !== undefined) await cloakroom.revoke(ticket, actorOf(req));
    res.append('Set-Cookie', clearTicketCookie(cookie));
    res.status(204).end();
  });

  app.post('/logout-others', async (req, res) => {
    const current = await signedIn(req);
    if (current === null) {
      res.status(401).json({ error: 'unauthorized' });
      return;
    }
    const { subject, sessionId } = current.session;
    // The default policy lets users list and revoke only their own sessions: say who acts.
    const actor = { ...actorOf(req), subject };
    let revoked = 0;
    for (const other of await cloakroom.listSessions(subject, actor)) {
      if (other.sessionId === sessionId) continue;
      if (await cloakroom.revokeSession(subject, other.sessionId, actor)) revoked++;
    }
    res.json({ revoked });
  });

  app.get('/sessions', async (req, res) => {
    const current = await signedIn(req);
    if (current === null) {
      res.status(401).json({ error: 'unauthorized' });
      return;
    }
    const { subject, sessionId } = current.session;
    const sessions = await cloakroom.listSessions(subject, { ...actorOf(req), subject });
    res.json({ sessions: sessions.map((s) => ({ ...s, current: s.sessionId === sessionId })) });
  });

  // Express 5 sends rejected async handlers here.
  app.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (isCloakroomError(error)) {
      // The store is down: the session may well be fine, so never answer 401.
      if (error.code === 'ERR_STORE_UNAVAILABLE' || error.code === 'ERR_STORE_FULL') {
        res.status(503).json({ error: 'unavailable' });
        return;
      }
      if (error.code === 'ERR_ACCESS_DENIED') {
        res.status(403).json({ error: 'forbidden' });
        return;
      }
    }
    next(error); // Express answers the rest (a malformed JSON body: 400; anything else: 500).
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

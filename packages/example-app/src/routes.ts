import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type AccessPolicy,
  type Action,
  type Actor,
  type Cloakroom,
  type ResolvedSession,
  type RotatingKeyProvider,
  type TicketCookieOptions,
  clearTicketCookie,
  clientAddress,
  readTicketCookie,
  serializeTicketCookie,
} from '@cloakroom/core';
import { Answer, answerError } from './answer';
import type { CsrfGuard } from './csrf';
import { deviceLabel } from './device-label';
import { streamJob } from './job-stream';
import type { LayoutUser } from './html';
import {
  readForm,
  redirect,
  sameOrigin,
  scriptNonce,
  securityHeaders,
  sendHtml,
  sendJson,
} from './http-util';
import { adminPage, enterAdminPage, messagePage, sessionsPage, signInPage } from './pages';
import type { RewrapRunner } from './rewrap-job';
import { DEFAULT_DEMO_PASSWORD, type DemoUser, checkPassword, findUser } from './users';

/** What the request handler is built from. */
export interface HandlerDeps {
  readonly cloakroom: Cloakroom;
  readonly keys: RotatingKeyProvider;
  /** The same policy the manager enforces, asked before showing admin pages. */
  readonly policy: AccessPolicy;
  readonly csrf: CsrfGuard;
  readonly cookie: TicketCookieOptions;
  readonly runner: RewrapRunner;
  readonly demoPassword: string;
  /** Proxies whose X-Forwarded-For is believed. @default [] */
  readonly trustedProxies?: readonly string[];
  /** Shown in every page footer (store kind, no secrets). */
  readonly footer: string;
}

/** A signed-in request. */
interface Visitor {
  readonly ticket: string;
  readonly session: ResolvedSession;
  readonly user: DemoUser;
  readonly adminMode: boolean;
  /** Who acts, for the policy and the audit events: roles only in admin mode. */
  readonly actor: Actor;
  readonly layout: LayoutUser;
}

type Route = (req: IncomingMessage, res: ServerResponse, nonce: string) => Promise<void>;

/**
 * The app's `node:http` request listener: server-rendered pages, POST for
 * every change, a CSRF token on every POST but sign-in, and the ticket only
 * in its cookie. Store outages answer 503, denied operator actions 403.
 */
export function createHandler(deps: HandlerDeps) {
  const { cloakroom, csrf, cookie, runner, footer } = deps;
  const addressOf = clientAddress({ trustedProxies: deps.trustedProxies ?? [] });
  const ipOf = (req: IncomingMessage) =>
    addressOf({
      remoteAddress: req.socket.remoteAddress,
      forwardedFor: req.headers['x-forwarded-for'],
    });
  const baseActor = (req: IncomingMessage): Actor => {
    const ip = ipOf(req);
    return ip === undefined ? {} : { ip };
  };
  const setTicket = (res: ServerResponse, ticket: string, expiresAt: number) =>
    res.appendHeader('Set-Cookie', serializeTicketCookie(ticket, { ...cookie, expiresAt }));

  // Missing, expired, revoked, rotated and forged tickets all resolve to null.
  async function visitor(req: IncomingMessage): Promise<Visitor | null> {
    const ticket = readTicketCookie(req.headers.cookie, cookie);
    if (ticket === undefined) return null;
    const session = await cloakroom.resolve(ticket, baseActor(req));
    const user = session === null ? undefined : findUser(session.subject);
    if (session === null || user === undefined) return null;
    const adminMode = session.claims.adminMode === true && user.roles.length > 0;
    const actor: Actor = {
      ...baseActor(req),
      id: `user:${user.username}`,
      subject: user.username,
      roles: adminMode ? user.roles : [],
    };
    return {
      ticket,
      session,
      user,
      adminMode,
      actor,
      layout: { username: user.username, adminMode, csrf: csrf.tokenFor(session.sessionId) },
    };
  }

  // Pages need a session; without one the browser goes to sign-in and a stale cookie is cleared.
  async function signedIn(req: IncomingMessage, res: ServerResponse): Promise<Visitor | null> {
    const v = await visitor(req);
    if (v === null) {
      const stale = readTicketCookie(req.headers.cookie, cookie) !== undefined;
      redirect(res, '/signin', stale ? clearTicketCookie(cookie) : undefined);
    }
    return v;
  }

  // A state-changing request: same origin, signed in, and carrying this session's CSRF token.
  async function post(req: IncomingMessage): Promise<{ v: Visitor; form: URLSearchParams }> {
    if (!sameOrigin(req)) throw new Answer(403, 'Cross-site request refused.');
    const form = await readForm(req);
    const v = await visitor(req);
    if (v === null) throw new Answer(401, 'You are signed out.');
    if (!csrf.check(v.session.sessionId, form.get('csrf'))) {
      throw new Answer(403, 'Missing or wrong CSRF token.');
    }
    return { v, form };
  }

  const allowed = async (action: Action, actor: Actor) =>
    (await deps.policy.authorize({ action, actor })).allow;

  async function adminOnly(req: IncomingMessage): Promise<{ v: Visitor; form: URLSearchParams }> {
    const p = await post(req);
    if (!(await allowed('keys.rotate', p.v.actor))) throw new Answer(403, 'Admins only.');
    return p;
  }

  const routes: Record<string, Route> = {
    'GET /': async (req, res) => {
      redirect(res, (await visitor(req)) === null ? '/signin' : '/sessions');
    },
    'GET /signin': async (req, res) => {
      if ((await visitor(req)) !== null) return redirect(res, '/sessions');
      sendHtml(res, 200, signInPage(footer, hint()));
    },
    'POST /signin': async (req, res) => {
      // No session yet, so no CSRF token: refuse cross-site posts (login CSRF) by origin.
      if (!sameOrigin(req)) throw new Answer(403, 'Cross-site request refused.');
      const form = await readForm(req);
      const user = checkPassword(
        form.get('username') ?? '',
        form.get('password') ?? '',
        deps.demoPassword,
      );
      if (user === undefined) {
        return sendHtml(res, 401, signInPage(footer, hint(), 'Wrong username or password.'));
      }
      const previous = await visitor(req);
      const claims = { adminMode: false };
      if (previous !== null && previous.user.username === user.username) {
        // Signing in again on a live session: a new ticket, the old one dies (SEC-06).
        const next = await cloakroom.refresh(previous.ticket, { claims }, baseActor(req));
        if (next !== null) {
          setTicket(res, next.ticket, previous.session.absoluteExpiresAt);
          return redirect(res, '/sessions');
        }
      } else if (previous !== null) {
        await cloakroom.revoke(previous.ticket, baseActor(req));
      }
      // Never adopt a ticket the browser brought: a fresh one (no session fixation).
      const label = deviceLabel(req.headers['user-agent']);
      const created = await cloakroom.create(user.username, claims, { label }, baseActor(req));
      setTicket(res, created.ticket, created.absoluteExpiresAt);
      redirect(res, '/sessions');
    },
    'POST /signout': async (req, res) => {
      const { v } = await post(req);
      await cloakroom.revoke(v.ticket, v.actor);
      redirect(res, '/signin', clearTicketCookie(cookie));
    },
    'GET /sessions': async (req, res) => {
      const v = await signedIn(req, res);
      if (v === null) return;
      const list = await cloakroom.listSessions(v.user.username, v.actor);
      const url = new URL(req.url ?? '/', 'http://x');
      const notice = NOTICES[url.searchParams.get('notice') ?? ''];
      sendHtml(res, 200, sessionsPage(v.layout, list, v.session.sessionId, footer, notice));
    },
    'POST /sessions/revoke': async (req, res) => {
      const { v, form } = await post(req);
      const id = form.get('session') ?? '';
      if (id === v.session.sessionId) {
        await cloakroom.revoke(v.ticket, v.actor);
        return redirect(res, '/signin', clearTicketCookie(cookie));
      }
      const done = await cloakroom.revokeSession(v.user.username, id, v.actor);
      redirect(res, `/sessions?notice=${done ? 'revoked' : 'gone'}`);
    },
    'POST /sessions/revoke-others': async (req, res) => {
      const { v } = await post(req);
      for (const s of await cloakroom.listSessions(v.user.username, v.actor)) {
        if (s.sessionId !== v.session.sessionId) {
          await cloakroom.revokeSession(v.user.username, s.sessionId, v.actor);
        }
      }
      redirect(res, '/sessions?notice=others');
    },
    'GET /admin': async (req, res, nonce) => {
      const v = await signedIn(req, res);
      if (v === null) return;
      if (!v.adminMode) {
        if (v.user.roles.includes('admin'))
          return sendHtml(res, 200, enterAdminPage(v.layout, footer));
        return sendHtml(
          res,
          403,
          messagePage('Forbidden', 'The admin view is for admins only.', v.layout, footer),
        );
      }
      if (!(await allowed('store.rewrap', v.actor))) {
        return sendHtml(
          res,
          403,
          messagePage(
            'Forbidden',
            'Operator actions are not allowed from this address.',
            v.layout,
            footer,
          ),
        );
      }
      const status = await deps.keys.status();
      sendHtml(res, 200, adminPage(v.layout, status, runner.current(), nonce, footer));
    },
    'POST /admin/enter': async (req, res) => {
      const { v, form } = await post(req);
      if (!v.user.roles.includes('admin')) throw new Answer(403, 'Admins only.');
      if (
        checkPassword(v.user.username, form.get('password') ?? '', deps.demoPassword) === undefined
      ) {
        return sendHtml(res, 401, enterAdminPage(v.layout, footer, 'Wrong password.'));
      }
      // A privilege change: new ticket, new claims, the old ticket dies (SEC-06).
      const next = await cloakroom.refresh(v.ticket, { claims: { adminMode: true } }, v.actor);
      if (next === null) throw new Answer(401, 'You are signed out.');
      setTicket(res, next.ticket, v.session.absoluteExpiresAt);
      redirect(res, '/admin');
    },
    'POST /admin/leave': async (req, res) => {
      const { v } = await post(req);
      const next = await cloakroom.refresh(v.ticket, { claims: { adminMode: false } }, v.actor);
      if (next === null) throw new Answer(401, 'You are signed out.');
      setTicket(res, next.ticket, v.session.absoluteExpiresAt);
      redirect(res, '/sessions');
    },
    'POST /admin/rotate': async (req, res) => {
      const { v, form } = await adminOnly(req);
      const kind = form.get('kind');
      if (kind !== 'signing' && kind !== 'storage') throw new Answer(400, 'Unknown key kind.');
      await cloakroom.rotateKeys(kind, v.actor);
      redirect(res, '/admin');
    },
    'POST /admin/rewrap': async (req, res) => {
      const { v } = await adminOnly(req);
      if (!(await allowed('store.rewrap', v.actor))) throw new Answer(403, 'Admins only.');
      if (runner.start(v.actor) === undefined)
        throw new Answer(409, 'A rewrap is already running.');
      redirect(res, '/admin');
    },
    'GET /admin/rewrap/status': async (req, res) => {
      const v = await visitor(req);
      if (v === null || !(await allowed('store.rewrap', v.actor)))
        return sendJson(res, 403, { error: 'forbidden' });
      sendJson(res, 200, { job: runner.current() ?? null });
    },
    'GET /admin/rewrap/events': async (req, res) => {
      const v = await visitor(req);
      if (v === null || !(await allowed('store.rewrap', v.actor)))
        return sendJson(res, 403, { error: 'forbidden' });
      streamJob(res, runner, deps.keys);
    },
  };

  const hint = () =>
    `Password: ${deps.demoPassword === DEFAULT_DEMO_PASSWORD ? deps.demoPassword : '(set by CLOAKROOM_DEMO_PASSWORD)'}`;

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const nonce = scriptNonce();
    securityHeaders(res, nonce);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const route = routes[`${req.method} ${path}`];
    try {
      if (route === undefined) {
        return sendHtml(res, 404, messagePage('Not found', 'Not found.', undefined, footer));
      }
      await route(req, res, nonce);
    } catch (error) {
      answerError(res, error, cookie, footer);
    }
  };
}

const NOTICES: Record<string, string> = {
  revoked: 'That device was signed out.',
  gone: 'That session had already ended.',
  others: 'All other devices were signed out.',
};

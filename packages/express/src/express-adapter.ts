import type { Claims, Cloakroom, DefaultDepositedClaims } from '@cloakroom/core';
import {
  type CloakroomContext,
  type CloakroomHttp,
  type CloakroomHttpOptions,
  type HttpAnswer,
  type RouteOptions,
  type Session,
  createCloakroomHttp,
} from '@cloakroom/http';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';

declare global {
  // Express's own way to extend its Request type (no import of express at run time).
  namespace Express {
    interface Request {
      /**
       * This request's Cloakroom handle, set by the Cloakroom middleware:
       * `req.cloakroom.session` (the signed-in session, or `null`), sign-in,
       * refresh, sign-out and the CSRF token. Not `req.session`, which
       * express-session's types claim. For typed claims use `auth.session(req)`.
       */
      cloakroom: CloakroomContext;
    }
  }
}

/** What {@link cloakroomExpress} returns. */
export interface ExpressCloakroom<
  C extends object = Claims,
  D extends object = DefaultDepositedClaims<C>,
> {
  /**
   * The middleware: refuses unsafe cross-site requests (403, SEC-33),
   * resolves the ticket cookie into `req.cloakroom.session` (`null` when
   * signed out), answers 503 with `Retry-After` when the store is
   * down. Mount it once, before your routes: `app.use(auth.middleware())`.
   * A route that must accept cross-site posts (a webhook) is declared
   * before that line with `auth.middleware({ csrf: false })` of its own.
   */
  middleware(route?: RouteOptions): RequestHandler;
  /** 401 unless the request has a session; put it on the routes that need one. */
  readonly required: RequestHandler;
  /**
   * The error handler for errors your handlers throw: `StoreUnavailable` and
   * `StoreFull` answer 503 (never 401), `AccessDenied` 403; anything else goes
   * on to Express. Mount it after your routes: `app.use(auth.errorHandler)`.
   */
  readonly errorHandler: ErrorRequestHandler;
  /** The request's session with your claims type, or `null`. */
  session(req: Request): Session<C, D> | null;
  /** The request's Cloakroom handle with your claims type. */
  context(req: Request): CloakroomContext<C, D>;
  /** The framework-independent kit underneath (options, CSRF tokens). */
  readonly kit: CloakroomHttp<C, D>;
}

/**
 * Mount Cloakroom in an Express 5 app: the ticket cookie, the session as
 * `req.cloakroom.session` (typed: `auth.session(req)`), sign-in, refresh and
 * sign-out on `req.cloakroom`, CSRF checks
 * on every unsafe request, and 503 (never 401) when the store is down.
 *
 * The middleware reads `req.body._csrf` for the header-less CSRF fallback,
 * so mount `express.urlencoded()` before it if your forms use that field.
 *
 * @throws ConfigInvalid for bad options.
 * @example
 * ```ts
 * import type { Claims, Cloakroom, DefaultDepositedClaims } from '@cloakroom/core';
 * import { cloakroomExpress } from '@cloakroom/express';
 * import express from 'express';
 *
 * declare const cloakroom: Cloakroom<{ role: string }>; // createCloakroom<{ role: string }>(…)
 * const auth = cloakroomExpress(cloakroom);
 * const app = express();
 * app.use(express.json(), auth.middleware());
 * app.get('/me', auth.required, (req, res) => {
 *   res.json({ subject: req.cloakroom.session?.subject, role: auth.session(req)?.claims.role });
 * });
 * app.post('/logout', async (req, res) => {
 *   await req.cloakroom.signOut();
 *   res.status(204).end();
 * });
 * app.use(auth.errorHandler);
 * ```
 */
export function cloakroomExpress<
  C extends object = Claims,
  D extends object = DefaultDepositedClaims<C>,
>(cloakroom: Cloakroom<C, D>, options?: CloakroomHttpOptions): ExpressCloakroom<C, D> {
  const kit = createCloakroomHttp<C, D>(cloakroom, options);

  const middleware = (route?: RouteOptions): RequestHandler => {
    return async (req, res, next) => {
      // Already mounted for this request (a route's own middleware ran first).
      if (Object.hasOwn(req, 'cloakroom')) return next();
      const begun = await kit.begin(
        {
          method: req.method,
          header: (name) => headerOf(req, name),
          origin: () => `${req.protocol}://${req.host}`,
          ip: req.ip,
          csrfField: () => formField(req.body, '_csrf'),
          setCookie: (header) => {
            res.append('Set-Cookie', header);
            res.set('Cache-Control', 'no-store');
          },
        },
        route,
      );
      if (begun.kind === 'answer') return send(res, begun.answer);
      const context = begun.context;
      Object.defineProperty(req, 'cloakroom', { value: context, enumerable: false });
      // Answers about a signed-in user are theirs alone: no shared cache may keep them.
      if (context.session !== null) res.set('Cache-Control', 'no-store');
      next();
    };
  };

  const contextOf = (req: Request): CloakroomContext<C, D> => {
    if (!Object.hasOwn(req, 'cloakroom')) {
      throw new TypeError('the Cloakroom middleware has not run for this request');
    }
    return req.cloakroom as unknown as CloakroomContext<C, D>;
  };

  return {
    middleware,
    required: (req, res, next) => {
      if (contextOf(req).session === null) return send(res, kit.unauthorized());
      next();
    },
    errorHandler: (error, _req, res, next) => {
      const answer = kit.answerForError(error);
      if (answer === undefined || res.headersSent) return next(error);
      send(res, answer);
    },
    session: (req) => contextOf(req).session,
    context: contextOf,
    kit,
  };
}

function headerOf(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function formField(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null && Object.hasOwn(body, name)
    ? (body as Record<string, unknown>)[name]
    : undefined;
}

function send(res: Response, answer: HttpAnswer): void {
  res.status(answer.status).set(answer.headers).send(JSON.stringify(answer.body));
}

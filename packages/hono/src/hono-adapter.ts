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
import type { Context, MiddlewareHandler } from 'hono';

/**
 * The variables the Cloakroom middleware sets: `c.get('session')` (the
 * session at the start of the request, or `null`) and `c.get('cloakroom')`
 * (sign-in, refresh, sign-out; its `session` follows them).
 *
 * @example
 * ```ts
 * import type { CloakroomEnv } from '@cloakroom/hono';
 * import { Hono } from 'hono';
 *
 * const app = new Hono<CloakroomEnv<{ role: string }>>();
 * ```
 */
export interface CloakroomEnv<
  C extends object = Claims,
  D extends object = DefaultDepositedClaims<C>,
> {
  Variables: {
    session: Session<C, D> | null;
    cloakroom: CloakroomContext<C, D>;
  };
}

/** Options of {@link cloakroomHono}. */
export interface HonoCloakroomOptions extends CloakroomHttpOptions {
  /**
   * The client address, for the access policy and audit events. Hono has no
   * portable way to learn it; on Node pass e.g.
   * `(c) => getConnInfo(c).remote.address` from `@hono/node-server/conninfo`.
   * @default no address
   */
  readonly clientAddress?: (c: Context) => string | undefined;
}

/** What {@link cloakroomHono} returns. */
export interface HonoCloakroom<
  C extends object = Claims,
  D extends object = DefaultDepositedClaims<C>,
> {
  /**
   * The middleware: refuses unsafe cross-site requests (403, SEC-33),
   * resolves the ticket cookie into `c.get('session')`, sets
   * `c.get('cloakroom')`, and answers 503 with `Retry-After` when the store
   * is down, also for `StoreUnavailable` thrown by a later handler (and 403
   * for `AccessDenied`). Mount it once: `app.use(auth.middleware())`. A
   * route that must accept cross-site posts (a webhook) is declared before
   * that line with `auth.middleware({ csrf: false })` of its own.
   */
  middleware(route?: RouteOptions): MiddlewareHandler<CloakroomEnv<C, D>>;
  /** 401 unless the request has a session; put it on the routes that need one. */
  readonly required: MiddlewareHandler<CloakroomEnv<C, D>>;
  /** The framework-independent kit underneath (options, CSRF tokens). */
  readonly kit: CloakroomHttp<C, D>;
}

const FORM = /^(?:application\/x-www-form-urlencoded|multipart\/form-data)\b/i;

/**
 * Mount Cloakroom in a Hono 4 app: the ticket cookie, a typed
 * `c.get('session')`, sign-in/refresh/sign-out on `c.get('cloakroom')`,
 * CSRF checks on every unsafe request, and 503 (never 401) when the store
 * is down. Works on any runtime Hono runs on that has `node:crypto`.
 *
 * @throws ConfigInvalid for bad options.
 * @example
 * ```ts
 * import type { Claims, Cloakroom, DefaultDepositedClaims } from '@cloakroom/core';
 * import { type CloakroomEnv, cloakroomHono } from '@cloakroom/hono';
 * import { Hono } from 'hono';
 *
 * declare const cloakroom: Cloakroom<{ role: string }>; // createCloakroom<{ role: string }>(…)
 * const auth = cloakroomHono(cloakroom);
 * const app = new Hono<CloakroomEnv<{ role: string }>>();
 * app.use(auth.middleware());
 * app.get('/me', auth.required, (c) => c.json({ role: c.get('session')?.claims.role }));
 * app.post('/logout', async (c) => {
 *   await c.get('cloakroom').signOut();
 *   return c.body(null, 204);
 * });
 * ```
 */
export function cloakroomHono<
  C extends object = Claims,
  D extends object = DefaultDepositedClaims<C>,
>(cloakroom: Cloakroom<C, D>, options?: HonoCloakroomOptions): HonoCloakroom<C, D> {
  const kit = createCloakroomHttp<C, D>(cloakroom, options);
  const addressOf = options?.clientAddress;

  const middleware = (route?: RouteOptions): MiddlewareHandler<CloakroomEnv<C, D>> => {
    return async (c, next) => {
      // Already mounted for this request (a route's own middleware ran first).
      if (c.get('cloakroom') !== undefined) return next();
      const begun = await kit.begin(
        {
          method: c.req.method,
          header: (name) => c.req.header(name),
          origin: () => new URL(c.req.url).origin,
          ip: addressOf?.(c),
          csrfField: async () =>
            FORM.test(c.req.header('content-type') ?? '')
              ? (await c.req.parseBody())._csrf
              : undefined,
          setCookie: (header) => {
            c.header('set-cookie', header, { append: true });
            c.header('cache-control', 'no-store');
          },
        },
        route,
      );
      if (begun.kind === 'answer') return respond(begun.answer);
      const context = begun.context;
      c.set('session', context.session);
      c.set('cloakroom', context);
      // Answers about a signed-in user are theirs alone: no shared cache may keep them.
      if (context.session !== null) c.header('cache-control', 'no-store');
      await next();
      const answer = c.error === undefined ? undefined : kit.answerForError(c.error);
      if (answer !== undefined) c.res = respond(answer);
    };
  };

  return {
    middleware,
    required: async (c, next) => {
      const context = c.get('cloakroom');
      if (context === undefined) {
        throw new TypeError('the Cloakroom middleware has not run for this request');
      }
      if (context.session === null) return respond(kit.unauthorized());
      await next();
    },
    kit,
  };
}

function respond(answer: HttpAnswer): Response {
  return new Response(JSON.stringify(answer.body), {
    status: answer.status,
    headers: answer.headers,
  });
}

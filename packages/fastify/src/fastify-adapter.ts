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
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  preHandlerAsyncHookHandler,
} from 'fastify';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * This request's Cloakroom handle, set by the Cloakroom plugin:
     * `request.cloakroom.session` (the signed-in session, or `null`),
     * sign-in, refresh, sign-out and the CSRF token. Not `request.session`,
     * which `@fastify/session` claims. For typed claims use `auth.session(request)`.
     */
    cloakroom: CloakroomContext;
  }
  interface FastifyContextConfig {
    /** Per-route Cloakroom options, e.g. `{ csrf: false }` for a webhook (SEC-33 opt-out). */
    cloakroom?: RouteOptions;
  }
}

/** What {@link cloakroomFastify} returns. */
export interface FastifyCloakroom<
  C extends object = Claims,
  D extends object = DefaultDepositedClaims<C>,
> {
  /**
   * The plugin: `await app.register(auth.plugin)`. It applies to the whole
   * app (not only to routes in its own scope): refuses unsafe cross-site
   * requests (403, SEC-33) unless a route says `config: { cloakroom: {
   * csrf: false } }`, resolves the ticket cookie into
   * `request.cloakroom.session`, answers 503 with `Retry-After` when the
   * store is down, and installs an error handler that answers 503 for
   * `StoreUnavailable`/`StoreFull` and 403 for `AccessDenied` thrown by your
   * handlers, passing anything else on. If you set an error handler of your
   * own, call `auth.replyToError` first in it.
   */
  readonly plugin: (app: FastifyInstance) => Promise<void>;
  /** A `preHandler` that answers 401 unless the request has a session. */
  readonly required: preHandlerAsyncHookHandler;
  /** Send the answer for a Cloakroom error; false (nothing sent) for any other error. */
  replyToError(error: unknown, reply: FastifyReply): boolean;
  /** The request's session with your claims type, or `null`. */
  session(request: FastifyRequest): Session<C, D> | null;
  /** The request's Cloakroom handle with your claims type. */
  context(request: FastifyRequest): CloakroomContext<C, D>;
  /** The framework-independent kit underneath (options, CSRF tokens). */
  readonly kit: CloakroomHttp<C, D>;
}

const SKIP_OVERRIDE = Symbol.for('skip-override');
const DISPLAY_NAME = Symbol.for('fastify.display-name');

/**
 * Mount Cloakroom in a Fastify 5 app: the ticket cookie, the session as
 * `request.cloakroom.session` (typed: `auth.session(request)`), sign-in,
 * refresh and sign-out on `request.cloakroom`, CSRF checks on every unsafe
 * request with a per-route opt-out, and 503 (never 401) when the store is down.
 *
 * The check runs as a `preHandler` hook, after body parsing, so the `_csrf`
 * field of a parsed form body is seen by the header-less fallback.
 *
 * @throws ConfigInvalid for bad options.
 * @example
 * ```ts
 * import type { Claims, Cloakroom, DefaultDepositedClaims } from '@cloakroom/core';
 * import { cloakroomFastify } from '@cloakroom/fastify';
 * import Fastify from 'fastify';
 *
 * declare const cloakroom: Cloakroom<{ role: string }>; // createCloakroom<{ role: string }>(…)
 * const auth = cloakroomFastify(cloakroom);
 * const app = Fastify();
 * await app.register(auth.plugin);
 * app.get('/me', { preHandler: auth.required }, async (request) => ({
 *   role: auth.session(request)?.claims.role,
 * }));
 * app.post('/webhooks/billing', { config: { cloakroom: { csrf: false } } }, async () => ({}));
 * ```
 */
export function cloakroomFastify<
  C extends object = Claims,
  D extends object = DefaultDepositedClaims<C>,
>(cloakroom: Cloakroom<C, D>, options?: CloakroomHttpOptions): FastifyCloakroom<C, D> {
  const kit = createCloakroomHttp<C, D>(cloakroom, options);

  const replyToError = (error: unknown, reply: FastifyReply): boolean => {
    const answer = kit.answerForError(error);
    if (answer === undefined) return false;
    send(reply, answer);
    return true;
  };

  const plugin = async (app: FastifyInstance): Promise<void> => {
    app.decorateRequest('cloakroom', null as unknown as CloakroomContext);
    app.addHook('preHandler', async (request, reply) => {
      const begun = await kit.begin(
        {
          method: request.method,
          header: (name) => headerOf(request, name),
          origin: () => `${request.protocol}://${request.host}`,
          ip: request.ip,
          csrfField: () => formField(request.body, '_csrf'),
          setCookie: (header) => {
            reply.header('set-cookie', [...setCookies(reply), header]);
            reply.header('cache-control', 'no-store');
          },
        },
        request.routeOptions.config.cloakroom,
      );
      if (begun.kind === 'answer') return send(reply, begun.answer);
      request.cloakroom = begun.context as unknown as CloakroomContext;
      // Answers about a signed-in user are theirs alone: no shared cache may keep them.
      if (begun.context.session !== null) reply.header('cache-control', 'no-store');
    });
    app.setErrorHandler(async (error, _request, reply) => {
      // Anything not ours goes on to the handler this one replaced.
      if (!replyToError(error, reply)) throw error;
    });
  };
  Object.assign(plugin, { [SKIP_OVERRIDE]: true, [DISPLAY_NAME]: '@cloakroom/fastify' });

  const contextOf = (request: FastifyRequest): CloakroomContext<C, D> => {
    if (request.cloakroom === null) {
      throw new TypeError('the Cloakroom plugin has not run for this request');
    }
    return request.cloakroom as unknown as CloakroomContext<C, D>;
  };

  return {
    plugin,
    required: async (request, reply) => {
      // Returning the reply ends the request here (Fastify's rule for async hooks).
      if (contextOf(request).session === null) return send(reply, kit.unauthorized());
    },
    replyToError,
    session: (request) => contextOf(request).session,
    context: contextOf,
    kit,
  };
}

function headerOf(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function setCookies(reply: FastifyReply): string[] {
  const current = reply.getHeader('set-cookie');
  if (current === undefined) return [];
  return Array.isArray(current) ? current.map(String) : [String(current)];
}

function formField(body: unknown, name: string): unknown {
  return typeof body === 'object' && body !== null && Object.hasOwn(body, name)
    ? (body as Record<string, unknown>)[name]
    : undefined;
}

function send(reply: FastifyReply, answer: HttpAnswer): FastifyReply {
  return reply.code(answer.status).headers(answer.headers).send(JSON.stringify(answer.body));
}

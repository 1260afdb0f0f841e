import {
  type Claims,
  type Cloakroom,
  type DefaultDepositedClaims,
  readTicketCookie,
} from '@cloakroom/core';
import {
  type CloakroomContext,
  type CloakroomHttp,
  type CloakroomHttpOptions,
  type HttpAnswer,
  type RouteOptions,
  type Session,
  createCloakroomHttp,
} from '@cloakroom/http';

/** Options of {@link cloakroomNext}. */
export interface NextCloakroomOptions extends CloakroomHttpOptions {
  /**
   * The client address for the access policy and audit events. Route
   * handlers see no socket; derive it from a header your proxy sets, e.g.
   * with core's `clientAddress` and your `trustedProxies`.
   * @default no address
   */
  readonly clientAddress?: (request: Request) => string | undefined;
}

/** A route handler after {@link NextCloakroom.route} has wrapped it. */
export type NextRouteHandler<P = unknown> = (request: Request, segment: P) => Promise<Response>;

/** What your handler receives besides the request: the Cloakroom handle and Next's route segment. */
export type CloakroomRouteHandler<C extends object, D extends object, P = unknown> = (
  request: Request,
  cloakroom: CloakroomContext<C, D>,
  segment: P,
) => Response | Promise<Response>;

/** What {@link cloakroomNext} returns. */
export interface NextCloakroom<
  C extends object = Claims,
  D extends object = DefaultDepositedClaims<C>,
> {
  /**
   * Wrap an App Router route handler: refuses unsafe cross-site requests
   * (403, SEC-33) unless `{ csrf: false }`, resolves the ticket cookie,
   * answers 503 with `Retry-After` when the store is down (also for
   * `StoreUnavailable` your handler throws) and 403 for `AccessDenied`, and
   * puts the cookies that sign-in, refresh and sign-out set on your response.
   * With `{ required: true }` a request without a session gets 401.
   */
  route<P = unknown>(
    handler: CloakroomRouteHandler<C, D, P>,
    options?: RouteOptions & { readonly required?: boolean },
  ): NextRouteHandler<P>;
  /**
   * The signed-in session in a server component, layout or server action:
   * reads the `Cookie` header through `headers()` from `next/headers` and
   * the ticket under the configured `cookie.name` with core's
   * `readTicketCookie`, exactly as route handlers do.
   * `null` without a valid ticket. Read-only: a server component cannot set
   * cookies, so sign-in and sign-out belong in route handlers.
   * @throws StoreUnavailable when the store is down (render your error
   *   boundary, not a signed-out page).
   */
  getSession(): Promise<Session<C, D> | null>;
  /** The framework-independent kit underneath (options, CSRF tokens). */
  readonly kit: CloakroomHttp<C, D>;
}

/**
 * Mount Cloakroom in a Next.js App Router app (Node.js runtime): wrap route
 * handlers with `route()`, read the session in server components with
 * `await getSession()`. Create it once, in a module your routes import.
 *
 * @throws ConfigInvalid for bad options.
 * @example
 * ```ts
 * import {
  type Claims,
  type Cloakroom,
  type DefaultDepositedClaims,
  readTicketCookie,
} from '@cloakroom/core';
 * import { cloakroomNext } from '@cloakroom/next';
 *
 * declare const cloakroom: Cloakroom<{ role: string }>; // createCloakroom<{ role: string }>(…)
 * // lib/auth.ts
 * export const auth = cloakroomNext(cloakroom);
 * // app/api/logout/route.ts
 * export const POST = auth.route(async (_request, session) => {
 *   await session.signOut();
 *   return new Response(null, { status: 204 });
 * });
 * // app/page.tsx (a server component)
 * export default async function Page() {
 *   const session = await auth.getSession();
 *   return session === null ? 'Signed out' : `Hello ${session.subject}`;
 * }
 * ```
 */
export function cloakroomNext<
  C extends object = Claims,
  D extends object = DefaultDepositedClaims<C>,
>(cloakroom: Cloakroom<C, D>, options?: NextCloakroomOptions): NextCloakroom<C, D> {
  const kit = createCloakroomHttp<C, D>(cloakroom, options);
  const addressOf = options?.clientAddress;
  const cookieOptions = kit.options.cookie;

  return {
    kit,
    route(handler, routeOptions) {
      return async (request, segment) => {
        const cookies: string[] = [];
        const begun = await kit.begin(
          {
            method: request.method,
            header: (name) => request.headers.get(name) ?? undefined,
            origin: () => addressedOrigin(request),
            ip: addressOf?.(request),
            csrfField: () => formField(request),
            setCookie: (header) => cookies.push(header),
          },
          routeOptions,
        );
        if (begun.kind === 'answer') return respond(begun.answer);
        const context = begun.context;
        if (routeOptions?.required === true && context.session === null) {
          return respond(kit.unauthorized());
        }
        let response: Response;
        try {
          response = await handler(request, context, segment);
        } catch (error) {
          const answer = kit.answerForError(error);
          if (answer === undefined) throw error;
          return respond(answer);
        }
        if (cookies.length === 0 && context.session === null) return response;
        return withHeaders(response, cookies);
      };
    },
    async getSession() {
      // Loaded on first use, so the package loads (and its route wrapper works) without Next.
      const { headers } = await import('next/headers');
      // The same reader (and the same configured cookie name) as every route, not Next's cookie parser.
      const ticket = readTicketCookie((await headers()).get('cookie'), cookieOptions);
      if (ticket === undefined || ticket === '') return null;
      return (await cloakroom.resolve(ticket)) as Session<C, D> | null;
    },
  };
}

/**
 * The origin the client addressed: the `Host` header under the request's
 * scheme. Next's `request.url` may name another host than the client used
 * (e.g. `localhost` for `127.0.0.1`), so it is not the app's origin.
 */
function addressedOrigin(request: Request): string | undefined {
  const url = new URL(request.url);
  const host = request.headers.get('host');
  return host === null ? url.origin : `${url.protocol}//${host}`;
}

const FORM = /^(?:application\/x-www-form-urlencoded|multipart\/form-data)\b/i;

/** The `_csrf` field of a form body, read from a clone so the handler can still read the body. */
async function formField(request: Request): Promise<unknown> {
  if (!FORM.test(request.headers.get('content-type') ?? '')) return undefined;
  try {
    return (await request.clone().formData()).get('_csrf') ?? undefined;
  } catch {
    return undefined;
  }
}

/** The handler's response plus our cookies and `no-store`; copied when its headers are immutable. */
function withHeaders(response: Response, cookies: readonly string[]): Response {
  let out = response;
  try {
    for (const cookie of cookies) out.headers.append('set-cookie', cookie);
  } catch {
    out = new Response(response.body, response);
    for (const cookie of cookies) out.headers.append('set-cookie', cookie);
  }
  // Answers about a signed-in user (or that set their cookie) are theirs alone.
  out.headers.set('cache-control', 'no-store');
  return out;
}

function respond(answer: HttpAnswer): Response {
  return new Response(JSON.stringify(answer.body), {
    status: answer.status,
    headers: answer.headers,
  });
}

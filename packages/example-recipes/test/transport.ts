// How a test reaches an app: a web Request, over a loopback socket or handed
// straight to a fetch-style handler.
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Cloakroom, TicketCookieOptions } from '@cloakroom/core';

/** What every recipe factory takes besides the manager. */
export interface RecipeOptions {
  readonly verifyPassword: (username: string, password: string) => Promise<boolean>;
  readonly cookie?: TicketCookieOptions;
}

export interface AppRequest {
  readonly method: 'GET' | 'POST';
  /** Path and query, e.g. `/me`. */
  readonly path: string;
  /** `name=value` for the Cookie header. */
  readonly cookie?: string;
  readonly json?: unknown;
  /** Raw body (sent as application/json) for malformed-body checks. */
  readonly rawJson?: string;
  /** Overrides `application/json`, e.g. what a cross-site HTML form can send. */
  readonly contentType?: string;
  readonly userAgent?: string;
  /**
   * `Sec-Fetch-Site` as a browser would send it; `same-origin` unless set.
   * `null` sends none (an old browser, or a client that is not a browser).
   */
  readonly secFetchSite?: string | null;
  /** An `Origin` header, when the request should carry one. */
  readonly origin?: string;
}

export type Send = (request: AppRequest) => Promise<Response>;

export interface RunningApp {
  readonly send: Send;
  close(): Promise<void>;
}

export type StartApp = (
  cloakroom: Cloakroom<{ elevated: boolean }>,
  options: RecipeOptions,
) => Promise<RunningApp>;

/** The web `Request` a client would send; the ticket only ever in the Cookie header. */
export function toRequest(base: string, request: AppRequest): Request {
  const headers = new Headers();
  if (request.cookie !== undefined) headers.set('cookie', request.cookie);
  if (request.userAgent !== undefined) headers.set('user-agent', request.userAgent);
  // What a browser sends with the app's own fetch or form post; the adapters check it (SEC-33).
  if (request.secFetchSite !== null) {
    headers.set('sec-fetch-site', request.secFetchSite ?? 'same-origin');
  }
  if (request.origin !== undefined) headers.set('origin', request.origin);
  let body: string | undefined;
  if (request.json !== undefined || request.rawJson !== undefined) {
    headers.set('content-type', request.contentType ?? 'application/json');
    body = request.rawJson ?? JSON.stringify(request.json);
  }
  return new Request(new URL(request.path, base), {
    method: request.method,
    headers,
    ...(body === undefined ? {} : { body }),
    redirect: 'manual',
  });
}

/** Start `server` on an ephemeral loopback port; `send` then goes over a real socket. */
export async function overLoopback(server: Server): Promise<RunningApp> {
  if (!server.listening) await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  return {
    send: (request) => fetch(toRequest(base, request)),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

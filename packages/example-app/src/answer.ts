import type { ServerResponse } from 'node:http';
import { type TicketCookieOptions, clearTicketCookie, isCloakroomError } from '@cloakroom/core';
import { BadBody, redirect, sendHtml } from './http-util';
import { messagePage } from './pages';

/** Thrown inside a route to answer with a status (403 for CSRF, 401 signed out). */
export class Answer extends Error {
  constructor(
    readonly status: number,
    readonly text: string,
  ) {
    super(text);
  }
}

/**
 * Turns a route's failure into a response: a 401 `Answer` back to sign-in,
 * denied operator actions 403, a store outage 503 (never 401: the user is
 * not signed out, the store is down), anything unexpected 500. Only error
 * codes and library messages are logged; those never carry tickets or tokens.
 */
export function answerError(
  res: ServerResponse,
  error: unknown,
  cookie: TicketCookieOptions,
  footer: string,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  let status = 500;
  let text = 'Something went wrong.';
  if (error instanceof Answer && error.status === 401) {
    // A POST from a page whose session has ended: back to sign-in, stale cookie cleared.
    redirect(res, '/signin', clearTicketCookie(cookie));
    return;
  }
  if (error instanceof Answer) [status, text] = [error.status, error.text];
  else if (error instanceof BadBody) [status, text] = [error.status, error.message];
  else if (isCloakroomError(error) && error.code === 'ERR_ACCESS_DENIED')
    [status, text] = [403, 'Not allowed.'];
  else if (isCloakroomError(error) && error.code === 'ERR_STORE_UNAVAILABLE') {
    [status, text] = [503, 'The session store is unavailable; try again shortly.'];
  } else if (isCloakroomError(error) && error.code === 'ERR_INVALID_ARGUMENT')
    [status, text] = [400, 'Bad request.'];
  if (status === 500 || status === 503) {
    // Library messages never carry tickets, tokens or keys; only the code and message are logged.
    const code = isCloakroomError(error) ? error.code : 'ERR_UNEXPECTED';
    console.error(`request failed: ${code}: ${error instanceof Error ? error.message : 'unknown'}`);
  }
  sendHtml(res, status, messagePage(`Error ${status}`, text, undefined, footer));
}

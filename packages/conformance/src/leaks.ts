import { randomBytes } from 'node:crypto';
import { ConformanceFailure } from './harness';

const WINDOW = 12;
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A payload the suite can recognise wherever it turns up: a printable ASCII
 * marker (so a store that prints bytes as text shows it) followed by random
 * binary bytes (so a store that prints them as hex, base64 or a byte list shows
 * those). Each call gives a different marker.
 */
export function markedPayload(): Uint8Array {
  const random = randomBytes(24);
  const text = `PAYLOAD-${Array.from(random, (b) => ALNUM[b % ALNUM.length]).join('')}`;
  return new Uint8Array(Buffer.concat([Buffer.from(text, 'latin1'), randomBytes(16)]));
}

/**
 * Every form in which a payload's bytes could appear in a message:
 * latin1/UTF-8 text, hex (lower, upper, spaced as Node prints a Buffer),
 * base64, base64url, a decimal byte list (as `util.inspect` prints a
 * Uint8Array) and the JSON of a Uint8Array. A 12-byte window at each end is
 * searched, so a message that truncates the payload is still caught (the
 * payloads of {@link markedPayload} are 48 bytes, so both windows sit on a
 * base64 block boundary).
 */
export function leakForms(payload: Uint8Array): { form: string; text: string }[] {
  const windows = [
    { at: 'start', offset: 0 },
    { at: 'end', offset: Math.max(0, payload.byteLength - WINDOW) },
  ];
  return windows.flatMap(({ at, offset }) => {
    const head = Buffer.from(payload.subarray(offset, offset + WINDOW));
    const bytes = [...head];
    const forms: [string, string][] = [
      ['latin1 text', head.toString('latin1')],
      ['hex', head.toString('hex')],
      ['upper-case hex', head.toString('hex').toUpperCase()],
      ['spaced hex', bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ')],
      ['base64', head.toString('base64')],
      ['base64url', head.toString('base64url')],
      ['byte list', bytes.join(',')],
      ['byte list', bytes.join(', ')],
      ['JSON of a Uint8Array', bytes.map((b, i) => `"${offset + i}":${b}`).join(',')],
    ];
    // Random bytes decoded as UTF-8 are mostly U+FFFD, which proves nothing; the
    // printable start decodes the same as latin1, so UTF-8 adds nothing there either.
    return forms.map(([form, text]) => ({ form: `${form} of its ${at}`, text }));
  });
}

/** The messages of an error, its `cause` chain and any aggregated errors (bounded depth). */
export function errorTexts(error: unknown, depth = 0): string[] {
  if (depth > 8 || error === null || error === undefined) return [];
  if (typeof error !== 'object') return [String(error)];
  const e = error as { message?: unknown; stack?: unknown; cause?: unknown; errors?: unknown };
  const own = [e.message, e.stack].filter((t): t is string => typeof t === 'string');
  const nested = Array.isArray(e.errors) ? e.errors : [];
  return [
    ...own,
    ...errorTexts(e.cause, depth + 1),
    ...nested.flatMap((n) => errorTexts(n, depth + 1)),
  ];
}

/**
 * Throws a {@link ConformanceFailure} when `error` (or anything in its cause
 * chain) carries one of `payloads` in any form of {@link leakForms}. The
 * failure names the call and the form, never the bytes.
 */
export function expectNoPayloadIn(
  error: unknown,
  payloads: readonly Uint8Array[],
  context: string,
): void {
  const texts = errorTexts(error);
  for (const payload of payloads) {
    for (const { form, text } of leakForms(payload)) {
      if (texts.some((t) => t.includes(text))) {
        throw new ConformanceFailure(
          `${context}: the error message (or its cause chain) holds payload bytes (${form})`,
        );
      }
    }
  }
}

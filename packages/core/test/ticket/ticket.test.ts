import {
  generateTicket,
  isCloakroomError,
  parseTicket,
  sessionIdOf,
  TICKET_LENGTH,
  TICKET_PREFIX,
  TicketMalformed,
} from '@cloakroom/core';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';

const CANONICAL_LAST = 'AEIMQUYcgkosw048';
const BODY_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

// Reference validity check written independently of the implementation.
function isValidTicket(s: string): boolean {
  if (s.length !== TICKET_LENGTH || !s.startsWith('cr1_')) return false;
  const body = s.slice(4);
  if ([...body].some((c) => !BODY_CHARS.includes(c))) return false;
  // Canonical iff decoding and re-encoding gives the same text.
  const bytes = Buffer.from(body, 'base64url');
  return bytes.length === 32 && bytes.toString('base64url') === body;
}

function expectMalformed(input: unknown): void {
  let thrown: unknown;
  try {
    parseTicket(input);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(TicketMalformed);
  expect((thrown as TicketMalformed).code).toBe('ERR_TICKET_MALFORMED');
  if (typeof input === 'string' && input.length > 4) {
    expect((thrown as Error).message).not.toContain(input.slice(4));
  }
}

const validBody = fc
  .tuple(
    fc.string({ unit: fc.constantFrom(...BODY_CHARS), minLength: 42, maxLength: 42 }),
    fc.constantFrom(...CANONICAL_LAST),
  )
  .map(([head, last]) => head + last);

describe('ticket constants', () => {
  it('prefix is cr1_ and a ticket is 47 characters', () => {
    expect(TICKET_PREFIX).toBe('cr1_');
    expect(TICKET_LENGTH).toBe(47);
    expect(generateTicket()).toHaveLength(47);
  });
});

describe('SEC-01 tickets carry 256 random bits and no user data', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('SEC-01 10^5 generated tickets are distinct, well-formed, 32 bytes, prefixed', () => {
    const seen = new Set<string>();
    let bad = 0;
    for (let i = 0; i < 100_000; i++) {
      const t = generateTicket();
      if (parseTicket(t) !== t || !t.startsWith('cr1_')) bad++;
      seen.add(t);
    }
    expect(bad).toBe(0);
    expect(seen.size).toBe(100_000);
    for (const t of [...seen].slice(0, 1000)) {
      expect(Buffer.from(t.slice(4), 'base64url')).toHaveLength(32);
      expect(isValidTicket(t)).toBe(true);
    }
  });

  it('SEC-01 generateTicket takes no input, so a ticket cannot carry user data', () => {
    expect(generateTicket.length).toBe(0);
  });

  it('SEC-01 randomness comes from the CSPRNG, not Math.random', () => {
    const spy = vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) seen.add(generateTicket());
    expect(seen.size).toBe(1000);
    expect(spy).not.toHaveBeenCalled();
  });

  it('SEC-01 every bit position varies across tickets (no fixed or biased bytes)', () => {
    const ones = new Array<number>(256).fill(0);
    const n = 4000;
    for (let i = 0; i < n; i++) {
      const bytes = Buffer.from(generateTicket().slice(4), 'base64url');
      for (let bit = 0; bit < 256; bit++) {
        if (((bytes[bit >> 3] as number) >> (bit & 7)) & 1) ones[bit] = (ones[bit] as number) + 1;
      }
    }
    // Binomial(4000, 0.5): sd ≈ 32; 10 sd either side never fails by chance.
    for (const count of ones) {
      expect(count).toBeGreaterThan(n / 2 - 320);
      expect(count).toBeLessThan(n / 2 + 320);
    }
  });
});

describe('SEC-03 parseTicket rejects anything that is not exactly a ticket', () => {
  const good = generateTicket();
  const body = good.slice(4);

  it('SEC-03 accepts a generated ticket and returns it unchanged', () => {
    expect(parseTicket(good)).toBe(good);
  });

  it('SEC-03 wrong prefix or version', () => {
    expectMalformed(`cr2_${body}`);
    expectMalformed(`CR1_${body}`);
    expectMalformed(`cr1-${body}`);
    expectMalformed(`xx1_${body}`);
    // The prefix without its underscore (a body starting with '_' would restore it, so avoid that).
    expectMalformed(`cr1${body.replace(/^_/, 'A')}A`);
  });

  it('SEC-03 wrong length', () => {
    expectMalformed('');
    expectMalformed('cr1_');
    expectMalformed(good.slice(0, -1));
    expectMalformed(`${good}A`);
    expectMalformed(`${good}${body}`);
  });

  it('SEC-03 path traversal, glob characters, quotes, NUL and whitespace', () => {
    const bad = [
      '../',
      '*',
      '?',
      '[',
      ']',
      '"',
      "'",
      '`',
      '\0',
      ' ',
      '\t',
      '\n',
      '\r',
      '/',
      '+',
      '=',
      '.',
      '%',
      '\\',
      'é',
    ];
    for (const c of bad) {
      expectMalformed(`cr1_${c}${body.slice(c.length)}`);
      expectMalformed(`cr1_${body.slice(0, 20)}${c}${body.slice(20 + c.length)}`);
    }
    expectMalformed(`cr1_../../../../etc/passwd${body.slice(23)}`);
    expectMalformed(` ${good.slice(1)}`);
    expectMalformed(`${good.slice(0, -1)} `);
  });

  it('SEC-03 non-canonical last character (same 32 bytes, another spelling)', () => {
    const head = body.slice(0, 42);
    for (const c of BODY_CHARS) {
      const t = `cr1_${head}${c}`;
      if (CANONICAL_LAST.includes(c)) expect(parseTicket(t)).toBe(t);
      else expectMalformed(t);
    }
  });

  it('SEC-03 non-strings', () => {
    for (const v of [
      undefined,
      null,
      0,
      47,
      true,
      {},
      [],
      Symbol('t'),
      10n,
      Buffer.from(good),
      [good],
      { toString: () => good },
    ]) {
      expectMalformed(v);
    }
  });

  it('SEC-03 a 1 MB string is rejected at once', () => {
    const huge = good + 'A'.repeat(1024 * 1024);
    const start = performance.now();
    for (let i = 0; i < 1000; i++) expectMalformed(huge);
    expect(performance.now() - start).toBeLessThan(1000);
    expectMalformed(`cr1_${'A'.repeat(1024 * 1024)}`);
  });

  it('SEC-03 property: any string is accepted iff it is a valid ticket; otherwise only TicketMalformed', () => {
    const candidates = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc
        .string({
          unit: fc.constantFrom(...BODY_CHARS, '.', '/', '*', '\0', ' '),
          minLength: 43,
          maxLength: 43,
        })
        .map((b) => `cr1_${b}`),
      fc
        .string({ unit: fc.constantFrom(...BODY_CHARS), minLength: 40, maxLength: 46 })
        .map((b) => `cr1_${b}`),
      validBody.map((b) => `cr1_${b}`),
    );
    fc.assert(
      fc.property(candidates, (s) => {
        if (isValidTicket(s)) {
          expect(parseTicket(s)).toBe(s);
        } else {
          try {
            parseTicket(s);
          } catch (err) {
            expect(err).toBeInstanceOf(TicketMalformed);
            expect(isCloakroomError(err)).toBe(true);
            return;
          }
          throw new Error('accepted an invalid ticket');
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('SEC-03 property: valid tickets round trip through their 32 bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        const t = TICKET_PREFIX + Buffer.from(bytes).toString('base64url');
        expect(parseTicket(t)).toBe(t);
        expect(Buffer.from(t.slice(4), 'base64url').equals(Buffer.from(bytes))).toBe(true);
      }),
    );
  });
});

describe('SEC-02 session ids are a hash of the ticket', () => {
  it('SEC-02 sessionIdOf is deterministic, 43 base64url chars, and reveals no ticket', () => {
    const t = generateTicket();
    const id = sessionIdOf(t);
    expect(sessionIdOf(t)).toBe(id);
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(id).not.toBe(t);
    expect(id).not.toContain(t.slice(4));
    expect(t).not.toContain(id);
  });

  it('SEC-02 sessionIdOf is SHA-256 of the whole ticket string', async () => {
    const t = generateTicket();
    const digest = new Uint8Array(
      await crypto.subtle.digest('SHA-256', new TextEncoder().encode(t)),
    );
    expect(sessionIdOf(t)).toBe(Buffer.from(digest).toString('base64url'));
  });

  it('SEC-02 distinct tickets give distinct session ids', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 10_000; i++) ids.add(sessionIdOf(generateTicket()));
    expect(ids.size).toBe(10_000);
  });
});

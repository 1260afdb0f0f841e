import {
  clearTicketCookie,
  ConfigInvalid,
  generateTicket,
  InvalidArgument,
  isCloakroomError,
  readTicketCookie,
  serializeTicketCookie,
  TicketMalformed,
} from '@cloakroom/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const ticket = generateTicket();

describe('SEC-08 serializeTicketCookie', () => {
  it('SEC-08 defaults exactly: __Host- name, Path=/, Secure, HttpOnly, SameSite=Lax', () => {
    expect(serializeTicketCookie(ticket)).toBe(
      `__Host-cloakroom=${ticket}; Path=/; Secure; HttpOnly; SameSite=Lax`,
    );
    expect(
      serializeTicketCookie(ticket, { expiresAt: 1_000_000 + 3_600_000, now: 1_000_000 }),
    ).toBe(`__Host-cloakroom=${ticket}; Path=/; Max-Age=3600; Secure; HttpOnly; SameSite=Lax`);
  });

  it('SEC-08 Max-Age never outlives the session and is never negative', () => {
    const at = (expiresAt: number, now: number) =>
      serializeTicketCookie(ticket, { expiresAt, now }).match(/Max-Age=(\d+)/)?.[1];
    expect(at(10_999, 1_000)).toBe('9');
    expect(at(11_000, 1_000)).toBe('10');
    expect(at(1_000, 1_000)).toBe('0');
    expect(at(0, 1_000)).toBe('0');
    const now = Date.now();
    expect(
      Number(
        serializeTicketCookie(ticket, { expiresAt: now + 60_000 }).match(/Max-Age=(\d+)/)?.[1],
      ),
    ).toBeGreaterThanOrEqual(58);
    expect(() => serializeTicketCookie(ticket, { expiresAt: Number.NaN })).toThrow(InvalidArgument);
    expect(() =>
      serializeTicketCookie(ticket, { expiresAt: 1, now: Number.POSITIVE_INFINITY }),
    ).toThrow(InvalidArgument);
  });

  it('SEC-08 writes every optional attribute when asked', () => {
    expect(
      serializeTicketCookie(ticket, {
        name: 'sid',
        sameSite: 'None',
        path: '/app',
        domain: 'example.com',
        partitioned: true,
        httpOnly: false,
      }),
    ).toBe(`sid=${ticket}; Path=/app; Domain=example.com; Secure; SameSite=None; Partitioned`);
    expect(serializeTicketCookie(ticket, { name: 'dev', secure: false, sameSite: 'Strict' })).toBe(
      `dev=${ticket}; Path=/; HttpOnly; SameSite=Strict`,
    );
    expect(serializeTicketCookie(ticket, { name: '__Secure-sid', domain: 'example.com' })).toBe(
      `__Secure-sid=${ticket}; Path=/; Domain=example.com; Secure; HttpOnly; SameSite=Lax`,
    );
  });

  it('SEC-08 never writes something that is not a ticket', () => {
    for (const bad of [
      '',
      'x; Domain=evil.com',
      `${ticket}; Path=/`,
      ticket.slice(0, -1),
      'cr1_../../etc',
    ]) {
      expect(() => serializeTicketCookie(bad)).toThrow(TicketMalformed);
    }
  });

  it('SEC-08 prefix rules: __Host- needs Secure, Path=/ and no Domain; __Secure- needs Secure', () => {
    const bad = [
      { secure: false },
      { path: '/app' },
      { domain: 'example.com' },
      { name: '__host-x', domain: 'example.com' },
      { name: '__HOST-x', secure: false },
      { name: '__Secure-x', secure: false },
      { name: '__SECURE-x', secure: false },
    ];
    for (const options of bad) {
      expect(() => serializeTicketCookie(ticket, options)).toThrow(ConfigInvalid);
      expect(() => clearTicketCookie(options)).toThrow(ConfigInvalid);
    }
  });

  it('SEC-08 SameSite=None and Partitioned need Secure; secure:false only without a prefix', () => {
    expect(() =>
      serializeTicketCookie(ticket, { name: 'sid', secure: false, sameSite: 'None' }),
    ).toThrow(ConfigInvalid);
    expect(() =>
      serializeTicketCookie(ticket, { name: 'sid', secure: false, partitioned: true }),
    ).toThrow(ConfigInvalid);
    expect(serializeTicketCookie(ticket, { name: 'sid', secure: false })).not.toContain('Secure');
    expect(() => serializeTicketCookie(ticket, { sameSite: 'none' as never })).toThrow(
      ConfigInvalid,
    );
  });

  it('SEC-08 cookie names must be RFC 6265 tokens', () => {
    for (const name of [
      '',
      'a b',
      'a;b',
      'a=b',
      'a,b',
      'a"b',
      'a\tb',
      'a\0b',
      'a(b)',
      'a/b',
      'é',
      'a\nSet-Cookie: x',
    ]) {
      expect(() => serializeTicketCookie(ticket, { name })).toThrow(ConfigInvalid);
      expect(() => readTicketCookie('a=b', { name })).toThrow(ConfigInvalid);
    }
    expect(serializeTicketCookie(ticket, { name: "a!#$%&'*+-.^_`|~Z9" })).toContain(
      `a!#$%&'*+-.^_\`|~Z9=${ticket};`,
    );
  });

  it('SEC-08 domain and path reject ";", control characters and whitespace', () => {
    for (const value of ['a;b', 'a b', 'a\tb', 'a\nb', 'a\rb', 'a\0b', 'a\x7fb', 'a\u00a0b']) {
      expect(() => serializeTicketCookie(ticket, { name: 'sid', domain: value })).toThrow(
        ConfigInvalid,
      );
      expect(() => serializeTicketCookie(ticket, { name: 'sid', path: `/${value}` })).toThrow(
        ConfigInvalid,
      );
    }
    expect(() => serializeTicketCookie(ticket, { name: 'sid', domain: '' })).toThrow(ConfigInvalid);
    expect(() => serializeTicketCookie(ticket, { name: 'sid', path: 'app' })).toThrow(
      ConfigInvalid,
    );
    expect(() => serializeTicketCookie(ticket, { name: 'sid', path: '' })).toThrow(ConfigInvalid);
  });

  it('SEC-08 property: an accepted attribute set yields exactly one cookie whose value is the ticket', () => {
    fc.assert(
      fc.property(
        fc.record(
          {
            name: fc.oneof(
              fc.string({ maxLength: 20 }),
              fc.constantFrom('__Host-x', '__host-x', '__Secure-x', 'sid'),
            ),
            path: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('/', '/app')),
            domain: fc.oneof(fc.string({ maxLength: 20 }), fc.constant('example.com')),
            secure: fc.boolean(),
            partitioned: fc.boolean(),
            sameSite: fc.constantFrom('Lax' as const, 'Strict' as const, 'None' as const),
          },
          { requiredKeys: [] },
        ),
        (options) => {
          let header: string;
          try {
            header = serializeTicketCookie(ticket, options);
          } catch (err) {
            expect(err).toBeInstanceOf(ConfigInvalid);
            return;
          }
          expect([...header].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)).toBe(
            false,
          );
          const [pair, ...attrs] = header.split('; ');
          const lower = (options.name ?? '__Host-cloakroom').toLowerCase();
          if (lower.startsWith('__host-')) {
            expect(attrs).toContain('Path=/');
            expect(attrs.some((a) => a.startsWith('Domain='))).toBe(false);
          }
          const needsSecure =
            lower.startsWith('__host-') ||
            lower.startsWith('__secure-') ||
            attrs.includes('SameSite=None') ||
            options.partitioned === true;
          if (needsSecure) expect(attrs).toContain('Secure');
          expect(pair).toBe(`${options.name ?? '__Host-cloakroom'}=${ticket}`);
          for (const a of attrs)
            expect(a).toMatch(
              /^(Path=\/\S*|Domain=\S+|Secure|HttpOnly|SameSite=(Lax|Strict|None)|Partitioned)$/,
            );
          expect(
            readTicketCookie(header.split(';')[0], { name: options.name ?? '__Host-cloakroom' }),
          ).toBe(ticket);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('SEC-08 clearTicketCookie', () => {
  it('SEC-08 expires the cookie with the same attributes', () => {
    expect(clearTicketCookie()).toBe(
      '__Host-cloakroom=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; HttpOnly; SameSite=Lax',
    );
    expect(
      clearTicketCookie({ name: 'sid', path: '/app', domain: 'example.com', sameSite: 'Strict' }),
    ).toBe(
      'sid=; Path=/app; Domain=example.com; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; HttpOnly; SameSite=Strict',
    );
  });
});

describe('SEC-08 readTicketCookie', () => {
  it('SEC-08 round trips what serializeTicketCookie wrote', () => {
    const setCookie = serializeTicketCookie(ticket, { expiresAt: Date.now() + 1000 });
    const cookieHeader = setCookie.split(';')[0];
    expect(readTicketCookie(cookieHeader)).toBe(ticket);
    expect(readTicketCookie(`sid=${ticket}`, { name: 'sid' })).toBe(ticket);
  });

  it('SEC-08 finds the first cookie of that name among many; exact, case-sensitive names', () => {
    const other = generateTicket();
    const header = [
      'theme=dark',
      '__Host-cloakroomX=nope',
      'X__Host-cloakroom=nope',
      '__host-cloakroom=nope',
      'broken',
      '=nameless',
      ...Array.from({ length: 100 }, (_, i) => `c${i}=v${i}`),
      `__Host-cloakroom=${ticket}`,
      `__Host-cloakroom=${other}`,
      'last=1',
    ].join('; ');
    expect(readTicketCookie(header)).toBe(ticket);
    expect(readTicketCookie(header, { name: 'c42' })).toBe('v42');
    expect(readTicketCookie(header, { name: 'last' })).toBe('1');
    expect(readTicketCookie(header, { name: 'missing' })).toBeUndefined();
    expect(readTicketCookie(header, { name: 'broken' })).toBeUndefined();
    expect(readTicketCookie(`  __Host-cloakroom = ${ticket} ;x=y`)).toBe(ticket);
    expect(readTicketCookie(`a=b;__Host-cloakroom=${ticket}`)).toBe(ticket);
    expect(readTicketCookie('__Host-cloakroom=')).toBe('');
  });

  it('SEC-08 absent or non-string headers give undefined', () => {
    expect(readTicketCookie(undefined)).toBeUndefined();
    expect(readTicketCookie(null)).toBeUndefined();
    expect(readTicketCookie('')).toBeUndefined();
    expect(readTicketCookie(['a=b'] as never)).toBeUndefined();
  });

  it('SEC-08 does not validate: the value is returned as sent for the manager to parse', () => {
    expect(readTicketCookie('__Host-cloakroom=../../etc/passwd')).toBe('../../etc/passwd');
  });

  it('SEC-08 headers over 16 KiB are ignored; hostile headers cost bounded work', () => {
    const padding = 'x'.repeat(16 * 1024);
    expect(readTicketCookie(`__Host-cloakroom=${ticket}; pad=${padding}`)).toBeUndefined();
    const justUnder = `__Host-cloakroom=${ticket}; p=${'x'.repeat(16 * 1024 - 70)}`;
    expect(justUnder.length).toBeLessThanOrEqual(16 * 1024);
    expect(readTicketCookie(justUnder)).toBe(ticket);
    expect(readTicketCookie('a'.repeat(10 * 1024 * 1024))).toBeUndefined();
    const start = performance.now();
    // Worst cases under the limit: thousands of '='-less pairs or of tiny pairs.
    const noEquals = ';a'.repeat(8 * 1024 - 1);
    const tiny = 'a=;'.repeat(5000);
    for (let i = 0; i < 200; i++) {
      expect(readTicketCookie(noEquals)).toBeUndefined();
      expect(readTicketCookie(tiny)).toBeUndefined();
    }
    expect(performance.now() - start).toBeLessThan(2000);
  });

  it('SEC-08 fuzz: readTicketCookie only returns a string or undefined, or throws a CloakroomError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 300 }),
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.constant(undefined),
        ),
        fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
        (header, name) => {
          try {
            const value = readTicketCookie(header, name === undefined ? {} : { name });
            if (value !== undefined) {
              expect(typeof value).toBe('string');
              expect(value).not.toContain(';');
            }
          } catch (err) {
            expect(isCloakroomError(err)).toBe(true);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

// Where secrets could escape: timing of comparisons (SEC-04), URLs (SEC-08),
// and every event, log line, error and stored byte of a whole session life
// (SEC-27, SEC-02), including deposit, rewrap, policy denials and claim
// protection. Needles are searched raw, base64url, base64 and hex.
import { randomBytes, timingSafeEqual as nodeTimingSafeEqual } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import * as core from '@cloakroom/core';
import {
  type CloakroomEvent,
  claimProtection,
  createCloakroom,
  generateSecret,
  generateSigningKey,
  jsonLinesSink,
  loggerSink,
  openProtectedClaims,
  parseTicket,
  readTicketCookie,
  serializeTicketCookie,
  staticKeys,
  timingSafeEqual,
} from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AUDIENCE, Clock, ISSUER, dump } from '../support/fixtures';
import { identityProvider } from '../support/identity-provider';
import { byteSpellings } from '../support/leaks';

const SRC = join(__dirname, '..', '..', 'src');

describe('SEC-04 secrets are compared in constant time', () => {
  // Fastest time of `compare(a, b)` over interleaved runs, for each b: the
  // minimum is the least disturbed by a busy machine.
  function fastest(
    compare: (a: Uint8Array, b: Uint8Array) => boolean,
    a: Uint8Array,
    bs: Uint8Array[],
  ) {
    const times: number[][] = bs.map(() => []);
    for (let run = 0; run < 31; run++) {
      for (const [i, b] of bs.entries()) {
        const t0 = process.hrtime.bigint();
        compare(a, b);
        times[i]?.push(Number(process.hrtime.bigint() - t0));
      }
    }
    return times.map((t) => Math.min(...t));
  }

  it('SEC-04 timingSafeEqual takes as long when the first byte differs as when the last does (a short-circuit compare does not)', () => {
    const a = new Uint8Array(randomBytes(2 << 20));
    const early = a.slice();
    early[0] = (early[0] ?? 0) ^ 1;
    const late = a.slice();
    late[late.length - 1] = (late[late.length - 1] ?? 0) ^ 1;
    const [tEarly, tLate] = fastest(timingSafeEqual, a, [early, late]);
    expect((tEarly as number) / (tLate as number)).toBeGreaterThan(0.3);
    // Control: the test tells a short-circuit compare apart, so it can fail.
    const view = (x: Uint8Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
    const shortCircuit = (x: Uint8Array, y: Uint8Array) => view(x).equals(view(y));
    const [sEarly, sLate] = fastest(shortCircuit, a, [early, late]);
    expect((sEarly as number) / (sLate as number)).toBeLessThan(0.3);
    // And it agrees with node's constant-time primitive.
    expect(timingSafeEqual(a, late)).toBe(nodeTimingSafeEqual(a, late));
  });

  it('SEC-04 the library compares no MAC, digest, tag, secret or ticket with ===, Buffer.compare or equals', () => {
    // Byte-equality helpers allowed: configuration-time key checks and the
    // key-set cache's wrapped (already encrypted) data key. Authentication
    // itself is AES-GCM and HMAC inside node:crypto/jose, never a JS compare.
    const allowed = /function sameBytes\(/;
    // A value whose name ends in one of these words (`mac`, `authTag`, `nextTicket`, `key.secret`);
    // `ticketBound` or `TICKET_LENGTH` are not secrets.
    const secretName = /(^|[a-z_])(mac|hmac|digest|tag|secret|ticket)$/i;
    const lastPart = (operand: string) => operand.split('.').at(-1) ?? operand;
    const absent = /^(undefined|null|true|false|\d+)$/;
    const offences: string[] = [];
    // Recursive: the sources live in subsystem folders (crypto/, session/, ...).
    const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.ts'),
    );
    expect(files.length).toBeGreaterThan(40);
    for (const file of files) {
      const lines = readFileSync(join(SRC, file), 'utf8').split('\n');
      for (const [i, line] of lines.entries()) {
        if (/^\s*(\/\/|\*|\/\*)/.test(line)) continue;
        if (
          /Buffer\.compare\(|\.equals\(/.test(line) &&
          !allowed.test(lines[i - 1] ?? '') &&
          !allowed.test(line)
        ) {
          offences.push(`${file}:${i + 1}: ${line.trim()}`);
        }
        for (const m of line.matchAll(/([\w.$]+)\s*[!=]==?\s*([\w.$]+)/g)) {
          const operands = [m[1] as string, m[2] as string];
          const suspicious = operands.some((o) => secretName.test(lastPart(o)));
          const againstAbsent = operands.some((o) => absent.test(o));
          if (suspicious && !againstAbsent && !/typeof\s*$/.test(line.slice(0, m.index))) {
            offences.push(`${file}:${i + 1}: ${line.trim()}`);
          }
        }
      }
    }
    expect(offences).toEqual([]);
  });
});

describe('SEC-08 the ticket never goes in a URL', () => {
  it('SEC-08 no export and no manager method builds a URL, query or link from a ticket', async () => {
    const { cloakroom } = await lifeWorld();
    const names = [...Object.keys(core), ...Object.keys(cloakroom)];
    // Links to the error documentation carry an error code, never session data.
    const urlish = names.filter((n) => /url|uri|query|link|href|redirect|location/i.test(n));
    expect(urlish.filter((n) => !/docs/i.test(n))).toEqual([]);
  });

  it('SEC-08 property: a Set-Cookie value carries the ticket only as the cookie value, never a URL', () => {
    const attrs = fc.record(
      {
        sameSite: fc.constantFrom('Lax' as const, 'Strict' as const, 'None' as const),
        httpOnly: fc.boolean(),
        partitioned: fc.boolean(),
        expiresAt: fc.integer({ min: 0, max: 2 ** 42 }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(attrs, (options) => {
        const ticket = core.generateTicket();
        const header = serializeTicketCookie(ticket, { ...options, now: 0 });
        expect(header.startsWith(`__Host-cloakroom=${ticket};`)).toBe(true);
        expect(header.split(ticket)).toHaveLength(2);
        expect(header).not.toMatch(/[?#&]|:\/\/|%[0-9A-F]{2}/i);
        expect(header).toMatch(/; Secure/);
        expect(header).toMatch(/; Path=\/(;|$)/);
        expect(header).not.toMatch(/; Domain=/);
      }),
      { numRuns: 300 },
    );
  });

  it('SEC-08 a ticket in a URL is not a cookie: readTicketCookie ignores URL-shaped input', () => {
    const ticket = core.generateTicket();
    for (const header of [
      `https://app.test/cb?__Host-cloakroom=${ticket}`,
      `/login?next=/&__Host-cloakroom=${ticket}`,
    ]) {
      expect(readTicketCookie(header)).toBeUndefined();
    }
    expect(readTicketCookie(`a=1; __Host-cloakroom=${ticket}`)).toBe(ticket);
  });
});

const IDP = 'https://idp.test';
const SUBJECT = 'alice.MARKER-4f1c@example.com';
const EXT_SUBJECT = 'ext-MARKER-77aa';
const EMAIL = 'private-MARKER-e6d2@example.com';
const EMPLOYEE = 'employee-MARKER-0b39';
const NOTE = 'note-MARKER-c81d';
const REFRESH_TOKEN = 'rt-MARKER-opaque-91ff';

async function lifeWorld() {
  const signing = await generateSigningKey('EdDSA');
  const keys = {
    storage: generateSecret(),
    storage2: generateSecret(),
    index: generateSecret(),
    claimEnc: generateSecret(),
    claimHash: generateSecret(),
  };
  const clock = new Clock();
  const memory = createMemoryStore({ clock: clock.now });
  const events: CloakroomEvent[] = [];
  const lines: string[] = [];
  const logged: string[] = [];
  const log = (o: Record<string, unknown>, m?: string) =>
    logged.push(JSON.stringify(o) + (m ?? ''));
  const sinks = [
    (e: CloakroomEvent) => events.push(e),
    jsonLinesSink({ write: (l: string) => lines.push(l) }),
    loggerSink({ info: log, warn: log }),
  ];
  const provider = await identityProvider(IDP, clock.now);
  const idp = provider.issuer;
  const issueExternal = (sub: string) => {
    const iat = Math.floor(clock.t / 1000);
    return provider.issue({ sub, iat, exp: iat + 600, email: EMAIL });
  };
  const protector = claimProtection({
    encrypt: ['email'],
    hash: ['employeeId'],
    encryptionKey: keys.claimEnc,
    hashKey: keys.claimHash,
  });
  const managerWith = (storage: Uint8Array[], policy?: core.AccessPolicy) =>
    createCloakroom({
      store: memory,
      keys: staticKeys({
        signing: [{ alg: 'EdDSA', privateKey: signing.privateJwk }],
        storage: storage.map((key) => ({ key })),
        index: keys.index,
      }),
      issuer: ISSUER,
      audience: AUDIENCE,
      clock: clock.now,
      refreshGraceMs: 1000,
      claimProtection: protector,
      trustedIssuers: [idp],
      onEvent: (e) => {
        for (const s of sinks) s(e);
      },
      ...(policy === undefined ? {} : { policy }),
    });
  const secretKeys: Uint8Array[] = [
    ...Object.values(keys),
    Buffer.from(String(signing.privateJwk.d), 'base64url'),
    Buffer.from(String(provider.signing.privateJwk.d), 'base64url'),
  ];
  return {
    cloakroom: managerWith([keys.storage]),
    operator: managerWith([keys.storage2, keys.storage], core.allowAll()),
    clock,
    memory,
    events,
    lines,
    logged,
    keys,
    secretKeys,
    issueExternal,
  };
}

/** Every text an attacker reading logs could see of an error: message, stack, cause chain, own fields. */
const errorText = (e: unknown) => inspect(e, { depth: 10, showHidden: false });

describe('SEC-27 a whole life leaks nothing into events, logs, errors or the store', () => {
  it('SEC-27 SEC-02 create, resolve, refresh, reuse, deposit, replaceTokens, denials, claim protection, rewrap, revoke: no ticket, eyJ token, key or plaintext anywhere', async () => {
    const w = await lifeWorld();
    const { cloakroom, operator, clock } = w;
    const errors: unknown[] = [];
    const fail = (p: Promise<unknown>) =>
      p.then(
        () => errors.push(new Error('expected a rejection')),
        (e) => errors.push(e),
      );
    const catchSync = (f: () => unknown) => {
      try {
        f();
        errors.push(new Error('expected a throw'));
      } catch (e) {
        errors.push(e);
      }
    };
    const tickets: string[] = [];
    const tokens: string[] = [];
    const storeDumps: string[] = [];
    const snapshot = async () => {
      for (const r of await dump(w.memory)) {
        storeDumps.push(`${r.id}|${r.subject}|${Buffer.from(r.payload).toString('latin1')}`);
      }
    };

    // Own sessions, with protected claims.
    const created = await cloakroom.create(
      SUBJECT,
      { email: EMAIL, employeeId: EMPLOYEE, note: NOTE },
      { label: 'laptop' },
    );
    tickets.push(created.ticket);
    const session = await cloakroom.resolve(created.ticket);
    tokens.push(session?.token as string);
    const verified = await cloakroom.verify(session?.token);
    expect(JSON.stringify(verified.payload)).not.toContain(EMAIL);
    expect(JSON.stringify(verified.payload)).not.toContain(EMPLOYEE);
    expect(
      (await openProtectedClaims(verified.payload, { encryptionKey: w.keys.claimEnc })).email,
    ).toBe(EMAIL);
    await fail(openProtectedClaims(verified.payload, { encryptionKey: generateSecret() }));
    await snapshot();

    const refreshed = await cloakroom.refresh(created.ticket, {
      claims: { email: EMAIL, note: NOTE },
    });
    tickets.push(refreshed?.ticket as string);
    tokens.push((await cloakroom.resolve(refreshed?.ticket))?.token as string);
    expect(await cloakroom.refresh(created.ticket)).toEqual(refreshed);
    await snapshot();
    clock.advance(1000);
    expect(await cloakroom.refresh(created.ticket)).toBeNull(); // reuse: family revoked
    const later = await cloakroom.create(SUBJECT, { note: NOTE });
    tickets.push(later.ticket);

    // Deposited sessions.
    const access = await w.issueExternal(EXT_SUBJECT);
    const idToken = await w.issueExternal(EXT_SUBJECT);
    tokens.push(access, idToken, REFRESH_TOKEN);
    const deposited = await cloakroom.deposit(
      { accessToken: access, refreshToken: REFRESH_TOKEN, idToken },
      { issuer: IDP },
    );
    tickets.push(deposited.ticket);
    const renewed = await w.issueExternal(EXT_SUBJECT);
    tokens.push(renewed);
    expect(
      await cloakroom.replaceTokens(deposited.ticket, {
        accessToken: renewed,
        refreshToken: REFRESH_TOKEN,
      }),
    ).toBe(true);
    const intruder = await w.issueExternal('intruder-MARKER');
    tokens.push(intruder);
    await fail(cloakroom.replaceTokens(deposited.ticket, { accessToken: intruder }));
    await fail(cloakroom.deposit({ accessToken: `${access.slice(0, -4)}AAAA` }, { issuer: IDP }));
    await fail(cloakroom.deposit({ accessToken: access }, { issuer: 'https://evil.test' }));
    await snapshot();

    // Denials and bad input, each echoing nothing.
    await fail(cloakroom.listSessions(SUBJECT));
    await fail(cloakroom.revokeSubject(SUBJECT, { id: 'ops', subject: EXT_SUBJECT }));
    await fail(cloakroom.rewrap());
    await fail(cloakroom.sweep());
    await fail(cloakroom.rotateKeys('signing', { id: 'ops', roles: ['admin'] }));
    await fail(cloakroom.create(SUBJECT, { iss: EMAIL }));
    await fail(cloakroom.create(SUBJECT, { email: EMAIL, big: 'x'.repeat(20_000) }));
    await fail(cloakroom.create('', { note: NOTE }));
    await fail(cloakroom.verify(`${tokens[1]?.slice(0, -4)}AAAA`));
    await fail(cloakroom.verify(access));
    await fail(cloakroom.verify(tickets[1]));
    catchSync(() => serializeTicketCookie(tokens[1] as string));
    catchSync(() => parseTicket(`${tickets[1]}x`));
    expect(await cloakroom.resolve(`${tickets[1]}x`)).toBeNull();
    expect(await cloakroom.resolve(core.generateTicket())).toBeNull();

    // Operator work: rewrap under a new storage key, list, revoke.
    const report = await operator.rewrap({ batchSize: 2 });
    expect(report.rewrapped).toBeGreaterThan(0);
    await snapshot();
    expect(await operator.listSessions(SUBJECT)).toHaveLength(1);
    expect(await operator.revoke(deposited.ticket)).toBe(true);
    expect(await operator.revokeSubject(SUBJECT)).toBe(1);
    expect(await operator.sweep()).toBe(0);

    const types = new Set(w.events.map((e) => e.type));
    for (const t of [
      'session.created',
      'session.refreshed',
      'session.touched',
      'session.rejected',
      'session.reuse_detected',
      'session.revoked',
      'subject.revoked',
      'store.rewrapped',
      'store.swept',
      'access.denied',
    ] as const) {
      expect(types.has(t), t).toBe(true);
    }
    expect(errors).toHaveLength(17);
    expect(errors.every((e) => core.isCloakroomError(e))).toBe(true);

    const haystacks: [string, string][] = [
      ...w.events.map((e): [string, string] => ['event', JSON.stringify(e)]),
      ...w.lines.map((l): [string, string] => ['json line', l]),
      ...w.logged.map((l): [string, string] => ['logger', l]),
      ...errors.map((e): [string, string] => ['error', errorText(e)]),
      ...storeDumps.map((d): [string, string] => ['store', d]),
    ];
    const needles: [string, string][] = [
      ...tickets.flatMap((t): [string, string][] => [
        ['ticket', t],
        ['ticket body', t.slice(4)],
      ]),
      ...tokens.map((t): [string, string] => ['token', t]),
      ...tokens.map((t): [string, string] => ['token signature', t.split('.').at(-1) as string]),
      ...w.secretKeys.flatMap((k, i) =>
        byteSpellings(k).map((s): [string, string] => [`key #${i}`, s]),
      ),
      ['subject', SUBJECT],
      ['external subject', EXT_SUBJECT],
      ['sensitive claim', EMAIL],
      ['hashed claim', EMPLOYEE],
      ['claim', NOTE],
    ];
    expect(haystacks.length).toBeGreaterThan(50);
    for (const [where, hay] of haystacks) {
      // The store is searched as raw bytes (latin1): a base64 rendering of
      // ciphertext would contain "eyJ…" by chance about once in a few hundred runs.
      expect(hay, `${where} holds a JWT`).not.toMatch(/eyJ[A-Za-z0-9_-]{8,}/);
      expect(hay, `${where} holds a ticket`).not.toMatch(/cr1_[A-Za-z0-9_-]{43}/);
      for (const [what, needle] of needles) {
        expect(hay.includes(needle), `${what} found in ${where}`).toBe(false);
      }
    }
  });
});

// Fuzz every parser that sees outside input (SEC-03, SEC-09, SEC-15, SEC-23,
// SEC-24): tickets, cookie headers, forwarded headers, sealed payloads, the
// session manager's ticket paths, tokens, protected claims and the key-set
// document. Each either returns a valid result or throws a typed
// CloakroomError: never another exception, never a hang (per-test timeouts,
// bounded inputs), and a 10 MB input is turned away at once.
import { randomBytes } from 'node:crypto';
import {
  type Cloakroom,
  allowAll,
  claimProtection,
  clientAddress,
  createAesGcmCipher,
  createCloakroom,
  generateSecret,
  generateSigningKey,
  rotatingKeys,
  generateTicket,
  isCloakroomError,
  openProtectedClaims,
  openUnderTicket,
  parseTicket,
  readTicketCookie,
  sealUnderTicket,
  sessionIdOf,
  staticKeys,
  verifyToken,
} from '@cloakroom/core';
import { createMemoryKeySetStore, createMemoryStore } from '@cloakroom/store-memory';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openKeySetDocument } from '../../src/keys/rotating/key-set-document';
import { toMasterKey } from '../../src/keys/rotating/master-key';
import { AUDIENCE, ISSUER } from '../support/fixtures';

const TIMEOUT = 10_000;
const RUNS = { numRuns: 1000, interruptAfterTimeLimit: 3_000 };
const TEN_MB = 10 * 1024 * 1024;
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

async function attempt<T>(f: () => T | Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await f() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** The failure must be a CloakroomError (optionally with one of `codes`). */
function expectTyped(outcome: Outcome<unknown>, codes?: readonly string[]): void {
  if (outcome.ok) return;
  const { error } = outcome;
  if (!isCloakroomError(error)) {
    throw new Error(
      `untyped exception: ${String((error as Error)?.name)}: ${String((error as Error)?.message)}`,
    );
  }
  if (codes !== undefined) expect(codes).toContain(error.code);
}

/**
 * Runs `f` on a 10 MB input and checks it answers (or refuses) within `ms`
 * of this process's CPU time: a scan of the input is a few milliseconds,
 * super-linear work (regex backtracking, repeated copies) is seconds. CPU
 * time rather than wall time, so a loaded shared machine does not fail it.
 */
async function fastOnHuge<T>(f: () => T | Promise<T>, ms = 250): Promise<Outcome<T>> {
  const started = process.cpuUsage();
  const outcome = await attempt(f);
  const used = process.cpuUsage(started);
  expect((used.user + used.system) / 1000).toBeLessThan(ms);
  return outcome;
}

// Strings an attacker could send: arbitrary, binary, base64url-ish, and near-valid shapes.
const hostileStrings = fc.oneof(
  fc.string({ maxLength: 120 }),
  fc.string({ unit: 'binary', maxLength: 120 }),
  fc.string({ unit: fc.constantFrom(...B64URL, '.', '=', '+', '/'), maxLength: 200 }),
  fc
    .string({ unit: fc.constantFrom(...B64URL), minLength: 43, maxLength: 43 })
    .map((b) => `cr1_${b}`),
  fc.constantFrom(
    '',
    'cr1_',
    '../../etc/passwd',
    'cr1_*',
    '\0',
    '__proto__',
    'constructor',
    '%00',
    'null',
  ),
);

/** A valid string with one edit: replaced, dropped or inserted character, truncation or repetition. */
function mutated(valid: string): fc.Arbitrary<string> {
  const pos = fc.nat({ max: Math.max(0, valid.length - 1) });
  const ch = fc.oneof(
    fc.constantFrom(...B64URL, '.', '=', '\0', ' '),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  );
  return fc.oneof(
    fc.tuple(pos, ch).map(([i, c]) => valid.slice(0, i) + c + valid.slice(i + 1)),
    pos.map((i) => valid.slice(0, i) + valid.slice(i + 1)),
    fc.tuple(pos, ch).map(([i, c]) => valid.slice(0, i) + c + valid.slice(i)),
    pos.map((i) => valid.slice(0, i)),
    fc.integer({ min: 2, max: 4 }).map((n) => valid.repeat(n)),
  );
}

/** Valid bytes with one change: bit flip, truncation, extension or overwritten run. */
function mutatedBytes(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const pos = fc.nat({ max: valid.byteLength - 1 });
  return fc
    .oneof(
      fc.tuple(pos, fc.integer({ min: 1, max: 255 })).map(([i, m]) => {
        const out = valid.slice();
        out[i] = (out[i] as number) ^ m;
        return out;
      }),
      pos.map((i) => valid.slice(0, i)),
      fc
        .uint8Array({ minLength: 1, maxLength: 64 })
        .map((tail) => new Uint8Array([...valid, ...tail])),
      fc.tuple(pos, fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([i, run]) => {
        const out = valid.slice();
        out.set(run.subarray(0, out.byteLength - i), i);
        return out;
      }),
      // An overwrite can repeat the bytes already there; that is no mutation.
    )
    .filter((out) => !Buffer.from(out).equals(Buffer.from(valid)));
}

describe('fuzz: tickets and cookie headers (SEC-03, SEC-08)', () => {
  it(
    'SEC-03 parseTicket returns its input only for a valid ticket, else throws TicketMalformed',
    () => {
      const valid = generateTicket();
      fc.assert(
        fc.property(fc.oneof(hostileStrings, mutated(valid), fc.anything()), (input) => {
          let value: string | undefined;
          try {
            value = parseTicket(input);
          } catch (error) {
            expect(isCloakroomError(error) && error.code).toBe('ERR_TICKET_MALFORMED');
            return;
          }
          expect(value).toBe(input);
          expect(value).toMatch(/^cr1_[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/);
        }),
        { numRuns: 2000 },
      );
    },
    TIMEOUT,
  );

  it(
    'SEC-03 readTicketCookie returns a string or undefined for any header, and ignores 10 MB at once',
    async () => {
      const ticket = generateTicket();
      const pieces = fc.oneof(
        hostileStrings,
        fc.constantFrom('=', ';', ' ', '__Host-cloakroom', `__Host-cloakroom=${ticket}`),
      );
      fc.assert(
        fc.property(
          fc.array(pieces, { maxLength: 30 }),
          fc.constantFrom('', ';', '; ', '='),
          (parts, sep) => {
            const value = readTicketCookie(parts.join(sep));
            expect(value === undefined || typeof value === 'string').toBe(true);
          },
        ),
        RUNS,
      );
      const huge = `${'a=b; '.repeat(TEN_MB / 5)}__Host-cloakroom=${ticket}`;
      expect((await fastOnHuge(() => readTicketCookie(huge))).ok).toBe(true);
      expect(readTicketCookie(huge)).toBeUndefined();
      expect(readTicketCookie('='.repeat(16_000))).toBeUndefined();
    },
    TIMEOUT,
  );

  it(
    'SEC-26 clientAddress returns an address string or undefined for any socket and forwarded header',
    async () => {
      const addressOf = clientAddress({ trustedProxies: ['10.0.0.0/8', '::1/128'] });
      const ip = fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended(), hostileStrings);
      fc.assert(
        fc.property(
          fc.oneof(
            ip,
            fc.constant('10.0.0.1'),
            fc.constant('::ffff:10.0.0.1'),
            fc.constant(undefined),
          ),
          fc.oneof(
            fc.array(ip, { maxLength: 8 }).map((a) => a.join(',')),
            fc.array(ip, { maxLength: 4 }),
            fc.constant(undefined),
          ),
          (remoteAddress, forwardedFor) => {
            const out = addressOf({
              remoteAddress: remoteAddress as string | undefined,
              forwardedFor,
            });
            expect(out === undefined || typeof out === 'string').toBe(true);
          },
        ),
        RUNS,
      );
      const huge = '1.2.3.4,'.repeat(TEN_MB / 8);
      expect(
        (await fastOnHuge(() => addressOf({ remoteAddress: '10.0.0.1', forwardedFor: huge }))).ok,
      ).toBe(true);
    },
    TIMEOUT,
  );
});

describe('fuzz: sealed payloads (SEC-09)', () => {
  const keys = staticKeys({
    signing: [{ alg: 'HS256', secret: generateSecret() }],
    storage: [{ id: 'fuzz-key', key: generateSecret() }],
    index: generateSecret(),
  });
  const cipher = createAesGcmCipher({ keys });
  const aad = new Uint8Array([1, 2, 3]);

  it(
    'SEC-09 cipher open and keyIdOf throw only DecryptionFailed on arbitrary, header-shaped and mutated bytes',
    async () => {
      const valid = await cipher.seal(new TextEncoder().encode('{"k":"live"}'), aad);
      const header = [1, 1, 8, ...new TextEncoder().encode('fuzz-key')];
      const bytes = fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ maxLength: 200 }).map((b) => new Uint8Array([...header, ...b])),
        mutatedBytes(valid),
      );
      await fc.assert(
        fc.asyncProperty(bytes, async (sealed) => {
          const opened = await attempt(() => cipher.open(sealed, aad));
          expect(opened.ok).toBe(false);
          expectTyped(opened, ['ERR_DECRYPTION_FAILED']);
          const id = await attempt(() => cipher.keyIdOf(sealed));
          expectTyped(id, ['ERR_DECRYPTION_FAILED']);
          if (id.ok) expect(id.value).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
        }),
        RUNS,
      );
      for (const junk of [undefined, null, 'text', [1, 1], {}, new ArrayBuffer(40)]) {
        expectTyped(await attempt(() => cipher.open(junk as never, aad)), [
          'ERR_DECRYPTION_FAILED',
        ]);
      }
      const huge = new Uint8Array(TEN_MB);
      expect((await fastOnHuge(() => cipher.open(huge, aad))).ok).toBe(false);
    },
    TIMEOUT,
  );

  it(
    'SEC-09 openUnderTicket throws only CloakroomErrors on arbitrary and mutated bytes, with any ticket text',
    async () => {
      const ticket = generateTicket();
      const valid = sealUnderTicket(ticket, new Uint8Array([7, 7, 7]), aad);
      fc.assert(
        fc.property(
          fc.oneof(fc.uint8Array({ maxLength: 200 }), mutatedBytes(valid)),
          fc.oneof(fc.constant(ticket), hostileStrings),
          (sealed, t) => {
            const out = (() => {
              try {
                return { ok: true as const, value: openUnderTicket(t, sealed, aad) };
              } catch (error) {
                return { ok: false as const, error };
              }
            })();
            expect(out.ok).toBe(false);
            expectTyped(out, ['ERR_DECRYPTION_FAILED', 'ERR_TICKET_MALFORMED']);
          },
        ),
        RUNS,
      );
    },
    TIMEOUT,
  );
});

describe('fuzz: the session manager ticket paths (SEC-03, SEC-13)', () => {
  async function manager(): Promise<{ app: Cloakroom; ticket: string }> {
    const signing = await generateSigningKey('EdDSA');
    const app = createCloakroom({
      store: createMemoryStore(),
      keys: staticKeys({
        signing: [{ alg: 'EdDSA', privateKey: signing.privateJwk }],
        storage: [{ key: generateSecret() }],
        index: generateSecret(),
      }),
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    const { ticket } = await app.create('fuzz-user');
    return { app, ticket };
  }

  it(
    'SEC-13 resolve, refresh and revoke answer null/false to any input, never an untyped exception',
    async () => {
      const { app, ticket } = await manager();
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(hostileStrings, mutated(ticket), fc.anything({ maxDepth: 2 })),
          async (input) => {
            fc.pre(input !== ticket);
            const resolved = await attempt(() => app.resolve(input));
            expectTyped(resolved);
            if (resolved.ok) expect(resolved.value).toBeNull();
            const refreshed = await attempt(() => app.refresh(input));
            expectTyped(refreshed);
            if (refreshed.ok) expect(refreshed.value).toBeNull();
            const revoked = await attempt(() => app.revoke(input));
            expectTyped(revoked);
            if (revoked.ok) expect(revoked.value).toBe(false);
          },
        ),
        RUNS,
      );
      // The real session survived the barrage.
      expect((await app.resolve(ticket))?.subject).toBe('fuzz-user');
      const huge = `cr1_${'A'.repeat(TEN_MB)}`;
      expect(await fastOnHuge(() => app.resolve(huge))).toEqual({ ok: true, value: null });
      expect(await fastOnHuge(() => app.revoke(huge))).toEqual({ ok: true, value: false });
    },
    TIMEOUT,
  );

  it(
    'SEC-13 a valid-looking ticket for a session that does not exist costs one hash and one store read',
    async () => {
      const { app } = await manager();
      await fc.assert(
        fc.asyncProperty(
          fc.constant(null).map(() => generateTicket()),
          async (t) => {
            expect(sessionIdOf(t)).toMatch(/^[A-Za-z0-9_-]{43}$/);
            expect(await app.resolve(t)).toBeNull();
          },
        ),
        { numRuns: 100 },
      );
    },
    TIMEOUT,
  );
});

describe('fuzz: every other manager argument that can carry request data (SEC-03, SEC-27)', () => {
  it(
    'SEC-03 create, deposit, replaceTokens, revokeSession and listSessions answer any argument with a result or a CloakroomError',
    async () => {
      const signing = await generateSigningKey('EdDSA');
      const app = createCloakroom({
        store: createMemoryStore(),
        keys: staticKeys({
          signing: [{ alg: 'EdDSA', privateKey: signing.privateJwk }],
          storage: [{ key: generateSecret() }],
          index: generateSecret(),
        }),
        issuer: ISSUER,
        audience: AUDIENCE,
        policy: allowAll(),
        trustedIssuers: [
          {
            issuer: 'https://idp.test',
            verify: (t) =>
              verifyToken(t, {
                keys: { verificationKey: async () => undefined },
                issuer: 'https://idp.test',
                audience: 'bff',
                typ: 'at+jwt',
              }),
          },
        ],
      });
      const { ticket } = await app.create('fuzz-user');
      const value = fc.oneof(hostileStrings, fc.anything({ maxDepth: 2 }));
      const claims = fc.oneof(
        fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 }),
        fc.anything({ maxDepth: 2 }),
      );
      await fc.assert(
        fc.asyncProperty(value, claims, value, value, async (subject, c, label, token) => {
          expectTyped(
            await attempt(() => app.create(subject as string, c as never, { label } as never)),
          );
          expectTyped(
            await attempt(() =>
              app.deposit({ accessToken: token } as never, { issuer: label } as never),
            ),
          );
          expectTyped(
            await attempt(() =>
              app.replaceTokens(ticket, { accessToken: token, idToken: label } as never),
            ),
          );
          const revoked = await attempt(() =>
            app.revokeSession(subject as string, token as string),
          );
          expectTyped(revoked);
          if (revoked.ok) expect(revoked.value).toBe(false);
          const listed = await attempt(() => app.listSessions(subject as string));
          expectTyped(listed);
          if (listed.ok) expect(Array.isArray(listed.value)).toBe(true);
        }),
        { numRuns: 300, interruptAfterTimeLimit: 3_000 },
      );
      expect((await app.resolve(ticket))?.subject).toBe('fuzz-user');
      const huge = 'u'.repeat(TEN_MB);
      expectTyped(await fastOnHuge(() => app.create(huge)), ['ERR_INVALID_ARGUMENT']);
      expectTyped(await fastOnHuge(() => app.listSessions(huge)), ['ERR_INVALID_ARGUMENT']);
      expectTyped(
        await fastOnHuge(() => app.deposit({ accessToken: huge }, { issuer: 'https://idp.test' })),
        ['ERR_INVALID_ARGUMENT'],
      );
    },
    TIMEOUT,
  );
});

describe('fuzz: tokens and protected claims (SEC-23, SEC-24)', () => {
  async function issuerWorld() {
    const signing = await generateSigningKey('ES256');
    const encryptionKey = generateSecret();
    const app = createCloakroom({
      store: createMemoryStore(),
      keys: staticKeys({
        signing: [{ alg: 'ES256', privateKey: signing.privateJwk }],
        storage: [{ key: generateSecret() }],
        index: generateSecret(),
      }),
      issuer: ISSUER,
      audience: AUDIENCE,
      claimProtection: claimProtection({ encrypt: ['email'], encryptionKey }),
    });
    const { ticket } = await app.create('fuzz-user', { email: 'fuzz@example.com' });
    const token = (await app.resolve(ticket))?.token as string;
    return { app, token, encryptionKey };
  }

  it(
    'SEC-24 cloakroom.verify and verifyToken throw only TokenRejected on arbitrary, shaped and mutated tokens',
    async () => {
      const { app, token } = await issuerWorld();
      const [h] = token.split('.');
      const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      const shaped = fc
        .tuple(
          fc.jsonValue({ maxDepth: 2 }),
          fc.jsonValue({ maxDepth: 2 }),
          fc.string({ unit: fc.constantFrom(...B64URL), maxLength: 90 }),
        )
        .map(([head, body, sig]) => `${b64(head)}.${b64(body)}.${sig}`);
      const ourHeader = fc
        .jsonValue({ maxDepth: 2 })
        .map((body) => `${h}.${b64(body)}.${'A'.repeat(86)}`);
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(hostileStrings, shaped, ourHeader, mutated(token), fc.anything({ maxDepth: 1 })),
          async (input) => {
            fc.pre(input !== token);
            const out = await attempt(() => app.verify(input));
            expectTyped(out, ['ERR_TOKEN_REJECTED']);
            // Only a spelling of the same signed bytes could pass; it then says what the token said.
            if (out.ok) expect(out.value.payload.sub).toBe('fuzz-user');
          },
        ),
        RUNS,
      );
      const huge = `${h}.${'A'.repeat(TEN_MB)}.AAAA`;
      const rejected = await fastOnHuge(() => app.verify(huge));
      expect(rejected.ok === false && (rejected.error as { reason?: string }).reason).toBe(
        'too-long',
      );
      const keysOnly = { verificationKey: async () => undefined };
      const direct = await fastOnHuge(() =>
        verifyToken(huge, { keys: keysOnly, issuer: ISSUER, audience: AUDIENCE, typ: 'at+jwt' }),
      );
      expectTyped(direct, ['ERR_TOKEN_REJECTED']);
    },
    TIMEOUT,
  );

  it(
    'SEC-23 openProtectedClaims throws only TokenRejected on arbitrary and mutated enc values',
    async () => {
      const { app, token, encryptionKey } = await issuerWorld();
      const { payload } = await app.verify(token);
      const enc = payload.enc as string;
      expect((await openProtectedClaims(payload, { encryptionKey })).email).toBe(
        'fuzz@example.com',
      );
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(hostileStrings, mutated(enc), fc.anything({ maxDepth: 1 })),
          async (value) => {
            fc.pre(value !== enc);
            const out = await attempt(() =>
              openProtectedClaims({ ...payload, enc: value }, { encryptionKey }),
            );
            expectTyped(out, ['ERR_TOKEN_REJECTED']);
            if (out.ok) expect(out.value.email).toBe('fuzz@example.com');
          },
        ),
        RUNS,
      );
      const huge = await fastOnHuge(() =>
        openProtectedClaims({ enc: 'A'.repeat(TEN_MB) }, { encryptionKey }),
      );
      expect(huge.ok === false && (huge.error as { reason?: string }).reason).toBe('too-long');
    },
    TIMEOUT,
  );
});

describe('fuzz: the rotating key-set document (SEC-15)', () => {
  const MIN = 60_000;
  const OPTIONS = {
    refreshEvery: MIN,
    signing: { rotateEvery: 60 * MIN, publishAhead: 10 * MIN, retireAfter: 20 * MIN },
    storage: { rotateEvery: 120 * MIN, publishAhead: 5 * MIN },
  };

  async function document() {
    const store = createMemoryKeySetStore();
    const masterKey = new Uint8Array(randomBytes(32));
    await rotatingKeys({ store, masterKey, ...OPTIONS }).signingKey();
    const entry = await store.read('default');
    if (entry === null) throw new Error('no document');
    return { bytes: entry.document, masterKey };
  }

  it(
    'SEC-15 openKeySetDocument throws only ConfigInvalid or DecryptionFailed on arbitrary, envelope-shaped and mutated bytes',
    async () => {
      const { bytes, masterKey } = await document();
      const masters = [toMasterKey(masterKey, 'master')];
      const name = new TextEncoder().encode('default');
      const id = new TextEncoder().encode(masters[0]?.id);
      const envelope = fc
        .tuple(fc.integer({ min: 0, max: 80 }), fc.uint8Array({ maxLength: 200 }))
        .map(
          ([wl, tail]) =>
            new Uint8Array([
              0x43,
              0x52,
              0x4b,
              0x53,
              1,
              name.length,
              ...name,
              id.length,
              ...id,
              0,
              wl,
              ...tail,
            ]),
        );
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.uint8Array({ maxLength: 300 }), envelope, mutatedBytes(bytes)),
          async (doc) => {
            const out = await attempt(() => openKeySetDocument(doc, 'default', masters));
            expect(out.ok).toBe(false);
            expectTyped(out, ['ERR_CONFIG_INVALID', 'ERR_DECRYPTION_FAILED']);
          },
        ),
        RUNS,
      );
      const huge = new Uint8Array(TEN_MB);
      huge.set(bytes.subarray(0, 40));
      expectTyped(await fastOnHuge(() => openKeySetDocument(huge, 'default', masters)), [
        'ERR_CONFIG_INVALID',
        'ERR_DECRYPTION_FAILED',
      ]);
    },
    TIMEOUT,
  );

  it(
    'SEC-15 a rotating provider over a store holding arbitrary bytes refuses to start with a CloakroomError',
    async () => {
      const { bytes, masterKey } = await document();
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(fc.uint8Array({ maxLength: 200 }), mutatedBytes(bytes)),
          async (doc) => {
            const store = createMemoryKeySetStore();
            expect(await store.write('default', doc, null)).toBe(true);
            const keys = rotatingKeys({ store, masterKey, ...OPTIONS });
            const out = await attempt(() => keys.signingKey());
            expect(out.ok).toBe(false);
            expectTyped(out);
          },
        ),
        { numRuns: 100, interruptAfterTimeLimit: 3_000 },
      );
    },
    TIMEOUT,
  );
});

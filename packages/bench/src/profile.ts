// `pnpm --filter @cloakroom/bench profile [memory|redis] [seconds]`: resolve in a
// loop for a CPU profile (run under `node --cpu-prof`), then a per-step cost
// breakdown of the resolve path next to the floor's steps, in CPU microseconds.
import { createCipheriv, createDecipheriv, hash, randomBytes, sign } from 'node:crypto';
import {
  type SessionStore,
  createAesGcmCipher,
  generateTicket,
  openUnderTicket,
  parseTicket,
  sealUnderTicket,
  sessionIdOf,
  signToken,
  subjectIndex,
} from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';
import { createRedisStore } from '@cloakroom/store-redis';
import { readConfig } from './config';
import { CLAIMS, cloakroomOver, makeFixture } from './fixture';
import { measure } from './measure';
import { RUN_ID, deletePrefix, redisClient } from './targets';

/** Mean CPU microseconds of `fn` over `n` calls (after a warm-up of n/10); CPU time, so other load on the host matters less. */
async function micro(n: number, fn: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < n / 10; i++) await fn(i);
  const cpu = process.cpuUsage();
  for (let i = 0; i < n; i++) await fn(i);
  const used = process.cpuUsage(cpu);
  return (used.user + used.system) / n;
}

async function main(): Promise<void> {
  const [which = 'memory', secondsArg = '10'] = process.argv
    .slice(2)
    .filter((a) => !a.startsWith('--'));
  const config = readConfig(process.argv.slice(2), process.env);
  const fixture = await makeFixture();
  const client = which === 'redis' ? redisClient(config) : undefined;
  const prefix = `cloakroom-bench-profile:${RUN_ID}:`;
  const store =
    client === undefined
      ? createMemoryStore({ maxSessions: 5_000_000 })
      : createRedisStore({ client, prefix });
  const cloakroom = cloakroomOver(fixture, store);
  const tickets: string[] = [];
  for (let i = 0; i < 1000; i++)
    tickets.push((await cloakroom.create(`p-${i % 97}`, { ...CLAIMS })).ticket);
  const inFlight = Number(process.env.PROFILE_IN_FLIGHT ?? (which === 'redis' ? 64 : 1));
  // PROFILE_OP=create profiles create instead of resolve.
  const operation = process.env.PROFILE_OP === 'create' ? 'create' : 'resolve';
  const sample = await measure(
    async (i) => {
      if (operation === 'create') {
        await cloakroom.create(`p-${i % 97}`, { ...CLAIMS });
        return true;
      }
      if ((await cloakroom.resolve(tickets[(i * 7919) % tickets.length])) === null)
        throw new Error('missed');
      return true;
    },
    inFlight,
    Number(secondsArg) * 1000,
    Number.MAX_SAFE_INTEGER,
  );
  process.stdout.write(
    `${which} ${operation} at ${inFlight} in flight: ${Math.round((sample.ops * 1000) / sample.ms)}/s, ${(sample.cpuUs / sample.ops).toFixed(2)} CPU µs/op\n`,
  );

  if (which === 'memory' && operation === 'create' && process.env.PROFILE_BREAKDOWN !== '0') {
    await createBreakdown(fixture, cloakroom, store);
  } else if (which === 'memory' && process.env.PROFILE_BREAKDOWN !== '0') {
    // Per-step costs on one session, the way resolve runs them.
    const ticket = tickets[0] as string;
    const id = sessionIdOf(ticket);
    const record = await store.get(id);
    if (record === null) throw new Error('missing');
    const cipher = createAesGcmCipher({ keys: fixture.keys });
    const aad = Buffer.concat([
      Buffer.from('cloakroom/session/v1\0'),
      Buffer.from(id),
      Buffer.from([0]),
      Buffer.from(record.subject),
    ]);
    const plain = await cipher.open(record.payload, aad);
    const payload = JSON.parse(Buffer.from(plain).toString()) as { inner: string; kid: string };
    const inner = Buffer.from(payload.inner, 'base64url');
    const innerAad = Buffer.from(`cloakroom/inner/v1\0${id}`);
    const n = 50_000;
    const steps: Record<string, number> = {
      'resolve (whole, memory store)': await micro(n, (i) => cloakroom.resolve(tickets[i % 1000])),
      'parseTicket + sessionIdOf (SHA-256)': await micro(n, () => sessionIdOf(parseTicket(ticket))),
      'store.get (memory: validate, copy payload)': await micro(n, () => store.get(id)),
      'recordAad build': await micro(n, () =>
        Buffer.concat([
          Buffer.from('cloakroom/session/v1\0'),
          Buffer.from(id),
          Buffer.from([0]),
          Buffer.from(record.subject),
        ]),
      ),
      'cipher.open outer (await storageKeys, AES-GCM)': await micro(n, () =>
        cipher.open(record.payload, aad),
      ),
      'outer JSON.parse (decodePayload)': await micro(n, () =>
        JSON.parse(Buffer.from(plain).toString()),
      ),
      'keys.verificationKey (await)': await micro(n, () =>
        fixture.keys.verificationKey(payload.kid),
      ),
      'inner base64url decode': await micro(n, () => Buffer.from(payload.inner, 'base64url')),
      'inner open (HKDF 2x HMAC + AES-GCM)': await micro(n, () =>
        openUnderTicket(ticket, inner, innerAad),
      ),
      'subjectIndex HMAC (create, list, revokeSubject)': await micro(n, () =>
        subjectIndex('user-42', fixture.indexKey),
      ),
      'floor: SHA-256': await micro(n, () => hash('sha256', ticket, 'base64url')),
      'floor: AES-GCM open (raw node:crypto)': await micro(n, () => {
        const p = record.payload;
        const g = createDecipheriv('aes-256-gcm', fixture.storageKey, p.subarray(10, 22));
        g.setAAD(aad);
        g.setAuthTag(p.subarray(p.byteLength - 16));
        g.update(p.subarray(22, p.byteLength - 16));
        try {
          g.final();
        } catch {}
      }),
    };
    for (const [name, us] of Object.entries(steps))
      process.stdout.write(`${us.toFixed(2).padStart(8)} µs  ${name}\n`);
  }
  await cloakroom.close();
  if (client !== undefined) {
    await deletePrefix(client, prefix);
    client.disconnect();
  }
}

/** Per-step CPU costs of `create` on the memory store, next to the floor's steps. */
async function createBreakdown(
  fixture: Awaited<ReturnType<typeof makeFixture>>,
  cloakroom: ReturnType<typeof cloakroomOver>,
  store: SessionStore,
): Promise<void> {
  const n = 20_000;
  const signing = await fixture.keys.signingKey();
  const now = Date.now();
  const claims = {
    ...CLAIMS,
    iss: 'https://auth.bench.example',
    aud: 'https://api.bench.example',
    sub: 'user-42',
    iat: Math.floor(now / 1000),
    exp: Math.floor(now / 1000) + 900,
    jti: randomBytes(16).toString('base64url'),
  };
  const token = await signToken(signing, claims, { typ: 'at+jwt' });
  const ticket = generateTicket();
  const id = sessionIdOf(ticket);
  const secrets = Buffer.from(JSON.stringify({ sub: 'user-42', claims: CLAIMS, token }));
  const innerAad = Buffer.from(`cloakroom/inner/v1\0${id}`);
  const inner = sealUnderTicket(ticket, secrets, innerAad);
  const outerPlain = Buffer.from(
    JSON.stringify({
      k: 'live',
      inner: Buffer.from(inner).toString('base64url'),
      kid: signing.kid,
      tokenExp: now,
      fam: 'f'.repeat(22),
      created: now,
      seen: now,
      idle: now,
      abs: now,
    }),
  );
  const cipher = createAesGcmCipher({ keys: fixture.keys });
  const aad = Buffer.from(`cloakroom/session/v1\0${id}\0${'s'.repeat(43)}`);
  const sealed = await cipher.seal(outerPlain, aad);
  const input = `${'h'.repeat(80)}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const steps: Record<string, number> = {
    'create (whole, memory store)': await micro(n, (i) =>
      cloakroom.create(`c-${i % 97}`, { ...CLAIMS }),
    ),
    'generateTicket + sessionIdOf': await micro(n, () => sessionIdOf(generateTicket())),
    'subjectIndex HMAC': await micro(n, () => subjectIndex('user-42', fixture.indexKey)),
    'signToken (EdDSA, node:crypto)': await micro(n, () =>
      signToken(signing, claims, { typ: 'at+jwt' }),
    ),
    'inner JSON + sealUnderTicket (SHA-256 key, AES-GCM)': await micro(n, () =>
      sealUnderTicket(
        ticket,
        Buffer.from(JSON.stringify({ sub: 'user-42', claims: CLAIMS, token })),
        innerAad,
      ),
    ),
    'outer JSON + base64url(inner)': await micro(n, () =>
      Buffer.from(
        JSON.stringify({ k: 'live', inner: Buffer.from(inner).toString('base64url'), now }),
      ),
    ),
    'cipher.seal outer (await storageKeys, AES-GCM)': await micro(n, () =>
      cipher.seal(outerPlain, aad),
    ),
    'store.insert (memory: validate, copy)': await micro(n, () =>
      store.insert({
        id: sessionIdOf(generateTicket()),
        subject: 's'.repeat(43),
        expiresAt: now + 3600_000,
        version: 1,
        payload: sealed,
      }),
    ),
    'floor: Ed25519 sign (raw node:crypto)': await micro(n, () =>
      sign(null, Buffer.from(input), signing.key),
    ),
    'floor: AES-GCM seal (raw node:crypto)': await micro(n, () => {
      const g = createCipheriv('aes-256-gcm', fixture.storageKey, randomBytes(12));
      g.setAAD(aad);
      g.update(outerPlain);
      g.final();
      g.getAuthTag();
    }),
  };
  for (const [name, us] of Object.entries(steps))
    process.stdout.write(`${us.toFixed(2).padStart(8)} µs  ${name}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `profile failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);

// `pnpm --filter @cloakroom/bench profile [memory|redis] [seconds]`: resolve in a
// loop for a CPU profile (run under `node --cpu-prof`), then a per-step cost
// breakdown of the resolve path next to the floor's steps, in CPU microseconds.
import { createCipheriv, createDecipheriv, hash, randomBytes, sign } from 'node:crypto';
import {
  type SessionStore,
  createAesGcmCipher,
  generateTicket,
  parseTicket,
  sessionIdOf,
  signToken,
  subjectIndex,
} from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';
import { createRedisStore } from '@cloakroom/store-redis';
// Internal modules of core (this package is private): the steps of the format-2 open.
import { recordMaskKeysOf } from '../../core/src/crypto/aes-gcm-cipher';
import { storageKeyIdAt } from '../../core/src/crypto/storage-layout';
import { boundBodyEnd } from '../../core/src/crypto/bound-layout';
import { openBoundRecord } from '../../core/src/crypto/bound-record';
import { storageMask, ticketMask } from '../../core/src/crypto/format';
import { type LivePayload, decodePayload, encodeBound } from '../../core/src/crypto/payload-format';
import { createRecordSealing } from '../../core/src/crypto/record-sealing';
import { generateTicketAndKey } from '../../core/src/ticket/ticket';
import { readConfig } from './config';
import { CLAIMS, cloakroomOver, makeFixture } from './fixture';
import { measure } from './measure';
import { RUN_ID, deletePrefix, redisClient } from './targets';
import { runMain } from './run-main';

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
    // The steps of a ticket-bound (format 2) resolve, through core's internal
    // modules (crypto/format.ts layer 3): one GCM open under the data key.
    const cipher = createAesGcmCipher({ keys: fixture.keys });
    const masks = recordMaskKeysOf(cipher);
    if (masks === undefined) throw new Error('the default cipher has mask keys');
    const sealed = record.payload;
    const bodyEnd = boundBodyEnd(sealed);
    const maskKey = await masks.forKeyId(storageKeyIdAt(sealed, bodyEnd));
    const mt = ticketMask(ticket);
    const { plain } = await openBoundRecord(masks, sealed, id, record.subject, mt);
    const payload = decodePayload(plain);
    if (payload?.k !== 'live') throw new Error('not a live payload');
    const aad = Buffer.from(id, 'latin1');
    const n = 50_000;
    const steps: Record<string, number> = {
      'resolve (whole, memory store)': await micro(n, (i) => cloakroom.resolve(tickets[i % 1000])),
      'parseTicket + sessionIdOf (SHA-256)': await micro(n, () => sessionIdOf(parseTicket(ticket))),
      'store.get (memory: validate, copy payload)': await micro(n, () => store.get(id)),
      'Mt: SHA-256 of the ticket under its label': await micro(n, () => ticketMask(ticket)),
      'mask key lookup (await storageKeys)': await micro(n, () => masks.forKeyId('bench-a')),
      'Ms: SHA-256 keyed, over salt, ids, nonce, tag, meta': await micro(n, () =>
        storageMask(
          maskKey,
          sealed.subarray(1, 17),
          id,
          record.subject,
          sealed.subarray(49, 61),
          sealed.subarray(bodyEnd - 16, bodyEnd),
          sealed.subarray(bodyEnd),
        ),
      ),
      'open: masks + one AES-GCM (the two above included)': await micro(n, () =>
        openBoundRecord(masks, sealed, id, record.subject, mt),
      ),
      'decodePayload (one JSON.parse of the body)': await micro(n, () => decodePayload(plain)),
      'keys.verificationKey (await)': await micro(n, () =>
        fixture.keys.verificationKey(payload.kid),
      ),
      'subjectIndex HMAC (create, list, revokeSubject)': await micro(n, () =>
        subjectIndex('user-42', fixture.indexKey),
      ),
      'floor: SHA-256': await micro(n, () => hash('sha256', ticket, 'base64url')),
      'floor: AES-GCM open (raw node:crypto)': await micro(n, () => {
        const g = createDecipheriv('aes-256-gcm', fixture.storageKey, sealed.subarray(49, 61));
        g.setAAD(aad);
        g.setAuthTag(sealed.subarray(bodyEnd - 16, bodyEnd));
        g.update(sealed.subarray(65, bodyEnd - 16));
        try {
          g.final();
        } catch {}
      }),
      'floor: JSON.parse of the same body': await micro(n, () =>
        JSON.parse(plain.toString('utf8', 5)),
      ),
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
  const livePayload: LivePayload = {
    k: 'live',
    inner: new Uint8Array(0),
    kid: signing.kid,
    tokenExp: now,
    fam: 'f'.repeat(22),
    created: now,
    seen: now,
    idle: now,
    abs: now,
  };
  const outerPlain = encodeBound(livePayload, {
    sub: 'user-42',
    claims: { ...CLAIMS },
    token,
  }).meta;
  const cipher = createAesGcmCipher({ keys: fixture.keys });
  const sealing = createRecordSealing(cipher, true);
  const aad = Buffer.from(`cloakroom/session/v1\0${id}\0${'s'.repeat(43)}`);
  const sealed = await cipher.seal(outerPlain, aad);
  const input = `${'h'.repeat(80)}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const steps: Record<string, number> = {
    'create (whole, memory store)': await micro(n, (i) =>
      cloakroom.create(`c-${i % 97}`, { ...CLAIMS }),
    ),
    'generateTicketAndKey + sessionIdOf (one CSPRNG draw)': await micro(n, () =>
      sessionIdOf(generateTicketAndKey().ticket),
    ),
    'subjectIndex HMAC': await micro(n, () => subjectIndex('user-42', fixture.indexKey)),
    'signToken (EdDSA, node:crypto)': await micro(n, () =>
      signToken(signing, claims, { typ: 'at+jwt' }),
    ),
    'encodeBound (body and operator-copy JSON)': await micro(n, () =>
      encodeBound(livePayload, { sub: 'user-42', claims: { ...CLAIMS }, token }),
    ),
    'seal: body GCM under DK + operator copy GCM + Ms, one buffer (format 2)': await micro(n, () =>
      sealing.seal(id, 's'.repeat(43), {
        ...livePayload,
        inner: sealing.sealSecrets(ticket, id, { sub: 'user-42', claims: { ...CLAIMS }, token }),
      }),
    ),
    'cipher.seal of the operator copy alone (await storageKeys, AES-GCM)': await micro(n, () =>
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

runMain('profile', main);

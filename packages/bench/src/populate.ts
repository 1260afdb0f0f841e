// Fast population for the scaling cases: records sealed exactly as `create`
// seals them, minus the JWT signature (one real token is reused; `resolve`
// never verifies it). A million `create` calls would spend minutes signing.
import { randomBytes } from 'node:crypto';
import {
  type Cloakroom,
  type KeyProvider,
  type SessionStore,
  createAesGcmCipher,
  generateTicket,
  openUnderTicket,
  sealUnderTicket,
  sessionIdOf,
  subjectIndex,
} from '@cloakroom/core';
import { CLAIMS, IDLE_MS } from './fixture';

// The AADs core binds a record to (session-payload.ts, session-context.ts).
// Opening a real record with them below checks they still match.
const recordAad = (id: string, subject: string) =>
  Buffer.from(`cloakroom/session/v1\0${id}\0${subject}`, 'utf8');
const innerAad = (id: string) => Buffer.from(`cloakroom/inner/v1\0${id}`, 'utf8');

// Core's outer plaintext (session-payload.ts, format 2): 0x02 ‖ metadata
// length (u32 BE) ‖ metadata JSON ‖ ticket-sealed inner bytes.
function readFrame(plain: Buffer): {
  meta: Record<string, unknown> & { abs: number };
  inner: Buffer;
} {
  if (plain[0] !== 2) throw new Error('populate: unexpected payload format');
  const end = 5 + plain.readUInt32BE(1);
  return {
    meta: JSON.parse(plain.toString('utf8', 5, end)) as Record<string, unknown> & { abs: number },
    inner: plain.subarray(end),
  };
}

function writeFrame(meta: Record<string, unknown>, inner: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(meta));
  const head = Buffer.alloc(5);
  head[0] = 2;
  head.writeUInt32BE(json.length, 1);
  return Buffer.concat([head, json, inner]);
}

/**
 * Returns a function that stores one more session and returns its ticket.
 * The payload template comes from a real session made by `cloakroom.create`,
 * so every field core writes is kept; sessions get fresh tickets, ids,
 * subjects, families and times. Call `verify` on a sample afterwards.
 */
export async function sessionMaker(
  cloakroom: Cloakroom,
  store: SessionStore,
  keys: KeyProvider,
  indexKey: Uint8Array,
): Promise<(i: number) => Promise<string>> {
  const probe = await cloakroom.create('template', { ...CLAIMS });
  const record = await store.get(probe.sessionId);
  if (record === null) throw new Error('populate: template session missing');
  const cipher = createAesGcmCipher({ keys });
  const plain = Buffer.from(
    await cipher.open(record.payload, recordAad(probe.sessionId, record.subject)),
  );
  const { meta: template, inner } = readFrame(plain);
  const secrets = JSON.parse(
    Buffer.from(openUnderTicket(probe.ticket, inner, innerAad(probe.sessionId))).toString(),
  ) as Record<string, unknown>;
  await cloakroom.revoke(probe.ticket);
  return async (i) => {
    const ticket = generateTicket();
    const id = sessionIdOf(ticket);
    const sub = `scale-${i % 50_000}`;
    const subject = subjectIndex(sub, indexKey);
    const now = Date.now();
    const sealedInner = sealUnderTicket(
      ticket,
      Buffer.from(JSON.stringify({ ...secrets, sub })),
      innerAad(id),
    );
    const payload = {
      ...template,
      fam: randomBytes(16).toString('base64url'),
      created: now,
      seen: now,
      idle: now + IDLE_MS,
    };
    await store.insert({
      id,
      subject,
      expiresAt: Math.min(now + IDLE_MS, payload.abs),
      version: 1,
      payload: await cipher.seal(writeFrame(payload, sealedInner), recordAad(id, subject)),
    });
    return ticket;
  };
}

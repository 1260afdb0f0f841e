// The floor: the least a server-side JWT session can do, written by hand.
// resolve = SHA-256 of the ticket, one read, AES-256-GCM open, JSON.parse.
// create = Ed25519 sign with node:crypto (as core's signToken does), AES-256-GCM
// seal, one atomic write with the index.
import {
  createCipheriv,
  createDecipheriv,
  sign as cryptoSign,
  hash,
  randomBytes,
} from 'node:crypto';
import { ALL_OPS, type SessionOps } from './contender';
import { AUDIENCE, CLAIMS, type Fixture, IDLE_MS, ISSUER, filler } from './fixture';
import type { FloorBackend } from './floor-backend';

const NONCE = 12;
const TAG = 16;
const TOKEN_MS = 15 * 60_000;

interface FloorSession {
  sub: string;
  claims: Record<string, unknown>;
  token: string;
  exp: number;
}

function seal(key: Uint8Array, plain: Uint8Array, aad: string): Uint8Array {
  const out = Buffer.allocUnsafe(NONCE + plain.byteLength + TAG);
  randomBytes(NONCE).copy(out, 0);
  const gcm = createCipheriv('aes-256-gcm', key, out.subarray(0, NONCE));
  gcm.setAAD(Buffer.from(aad, 'latin1'));
  gcm.update(plain).copy(out, NONCE);
  gcm.final();
  gcm.getAuthTag().copy(out, NONCE + plain.byteLength);
  return out;
}

/** The floor's AES-256-GCM open: nonce, ciphertext, tag; the id as AAD. Also used by format-cap.ts. */
export function floorOpen(key: Uint8Array, sealed: Uint8Array, aad: string): Buffer {
  const gcm = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE));
  gcm.setAAD(Buffer.from(aad, 'latin1'));
  gcm.setAuthTag(sealed.subarray(sealed.byteLength - TAG));
  const plain = gcm.update(sealed.subarray(NONCE, sealed.byteLength - TAG));
  gcm.final();
  return plain;
}

/**
 * The floor over one backend. `sealedSize` is the size of Cloakroom's sealed
 * payload for the same session: the floor pads its plaintext to match it.
 */
export function floorOps(fixture: Fixture, backend: FloorBackend, sealedSize: number): SessionOps {
  const key = fixture.storageKey;
  const header = { alg: 'EdDSA', typ: 'at+jwt', kid: fixture.kid };
  let pad = '';

  // Like for like with core's signToken: the header serialised per token, the
  // compact JWS assembled as strings, Ed25519 through node:crypto's one-shot sign.
  const sign = async (sub: string, now: number) => {
    const body = JSON.stringify({
      ...CLAIMS,
      iss: ISSUER,
      aud: AUDIENCE,
      sub,
      iat: Math.floor(now / 1000),
      exp: Math.floor((now + TOKEN_MS) / 1000),
      jti: randomBytes(16).toString('base64url'),
    });
    const head = Buffer.from(JSON.stringify(header)).toString('base64url');
    const input = `${head}.${Buffer.from(body).toString('base64url')}`;
    return `${input}.${cryptoSign(null, Buffer.from(input), fixture.signingKey).toString('base64url')}`;
  };
  const sealSession = (id: string, s: FloorSession) =>
    seal(key, Buffer.from(JSON.stringify({ ...s, pad })), id);
  const load = async (ticket: string) => {
    const id = hash('sha256', ticket, 'base64url');
    const record = await backend.get(id);
    if (record === null) throw new Error('floor: resolve missed');
    const session = JSON.parse(floorOpen(key, record.payload, id).toString()) as FloorSession;
    if (session.exp <= Date.now()) throw new Error('floor: session expired');
    return { id, record, session };
  };
  const newSession = async (sub: string, claims: Record<string, unknown>) => {
    const ticket = `cr1_${randomBytes(32).toString('base64url')}`;
    const id = hash('sha256', ticket, 'base64url');
    const now = Date.now();
    const session: FloorSession = { sub, claims, token: await sign(sub, now), exp: now + IDLE_MS };
    return { ticket, id, session, payload: sealSession(id, session) };
  };

  return {
    supports: ALL_OPS,
    async create(subject) {
      const made = await newSession(subject, { ...CLAIMS });
      if (pad === '' && made.payload.byteLength < sealedSize) {
        // Calibrate once: same stored bytes as Cloakroom's sealed payload.
        pad = filler(sealedSize - made.payload.byteLength);
        return this.create(subject);
      }
      await backend.put(made.id, {
        subject,
        expiresAt: made.session.exp,
        payload: made.payload,
      });
      return made.ticket;
    },
    async resolve(ticket) {
      await load(ticket);
    },
    async refresh(ticket) {
      const { id, record, session } = await load(ticket);
      const made = await newSession(session.sub, session.claims);
      await backend.rotate(id, record.subject, made.id, {
        subject: record.subject,
        expiresAt: made.session.exp,
        payload: made.payload,
      });
      return made.ticket;
    },
    async revoke(ticket) {
      const id = hash('sha256', ticket, 'base64url');
      const record = await backend.get(id);
      if (record === null) throw new Error('floor: revoke missed');
      await backend.remove(id, record.subject);
    },
    async revokeSubject(subject) {
      if ((await backend.removeSubject(subject)) === 0)
        throw new Error('floor: revokeSubject found nothing');
    },
    async listSessions(subject) {
      const records = await backend.listSubject(subject);
      if (records.length === 0) throw new Error('floor: listSessions found nothing');
      // Like listSessions, read each record's metadata with the storage key: open, parse.
      for (const [id, r] of records) JSON.parse(floorOpen(key, r.payload, id).toString());
    },
    close: () => backend.close(),
  };
}

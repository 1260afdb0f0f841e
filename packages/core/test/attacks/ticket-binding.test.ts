// Attacks on the ticket-bound record (docs/security/ticket-binding.md): an
// attacker with a store dump and every server key, and one with store write
// access moving masks, metadata and bodies between records and writes. Real
// memory store, real keys, real sealing code.
import { createDecipheriv } from 'node:crypto';
import {
  type Cipher,
  type CloakroomEvent,
  type SessionRecord,
  allowAll,
  createAesGcmCipher,
  createCloakroom,
  generateSecret,
  staticKeys,
} from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';
import { describe, expect, it } from 'vitest';
import {
  BODY_AT,
  MASK_AT,
  NONCE_AT,
  SALT_AT,
  parseBoundRecord,
} from '../../src/crypto/bound-layout';
import {
  boundAad,
  boundMetaAad,
  maskKeyOf,
  storageMask,
  ticketMask,
} from '../../src/crypto/format';
import {
  AUDIENCE,
  Clock,
  ISSUER,
  dump,
  keysFrom,
  makeKeyMaterial,
  setup,
} from '../support/fixtures';
import { rewriteAsTwoLayer } from '../crypto/record-forge';

const SUBJECT = 'bound-subject-MARKER@example.com';
const CLAIM = 'bound-claim-MARKER';
const MIN = 60_000;

async function recordOf(store: { get(id: string): Promise<SessionRecord | null> }, id: string) {
  const record = await store.get(id);
  if (record === null) throw new Error('missing record');
  return record;
}

/** Replace bytes [from, to) of `target`'s payload with those of `donor`'s payload. */
function splice(target: Uint8Array, donor: Uint8Array, from: number, to: number): Uint8Array {
  const out = target.slice();
  out.set(donor.subarray(from, to), from);
  return out;
}

async function put(memory: ReturnType<typeof createMemoryStore>, record: SessionRecord) {
  const current = await recordOf(memory, record.id);
  expect(await memory.replace({ ...record, version: current.version + 1 }, current.version)).toBe(
    true,
  );
}

describe('SEC-02 a store dump plus every server key opens no ticket-bound secret', () => {
  it('SEC-02 with the storage key the attacker unmasks W to DK ⊕ Mt and no further: the body opens under no key they can make', async () => {
    const { cloakroom, memory, material } = await setup();
    const { ticket, sessionId } = await cloakroom.create(SUBJECT, { secret: CLAIM });
    const token = (await cloakroom.resolve(ticket))?.token ?? 'missing';
    const [record] = (await dump(memory)).filter((r) => r.id === sessionId);
    if (!record) throw new Error('missing record');
    const parts = parseBoundRecord(record.payload);
    if (!parts) throw new Error('not a ticket-bound record');

    // Everything the server holds: the storage key (hence the mask key), the
    // index key, the signing key, and the stored record with its session id.
    const maskKey = maskKeyOf(material.storage);
    const ms = storageMask(
      maskKey,
      parts.salt,
      record.id,
      record.subject,
      parts.nonce,
      parts.tag,
      parts.meta,
    );
    const dkXorMt = Buffer.from(parts.mask).map((b, i) => b ^ ms.charCodeAt(i));
    const tryOpen = (key: Uint8Array) => {
      const gcm = createDecipheriv('aes-256-gcm', key, parts.nonce);
      gcm.setAAD(boundAad(record.id, record.subject));
      gcm.setAuthTag(parts.tag);
      gcm.update(parts.sealedBody.subarray(BODY_AT, parts.sealedBody.byteLength - 16));
      gcm.final();
    };
    // Every key they can derive without the ticket fails...
    const guesses = [
      dkXorMt,
      Buffer.from(parts.mask),
      Buffer.from(material.storage),
      Buffer.from(maskKey.subarray(0, 32)),
      Buffer.from(maskKey.subarray(32)),
      Buffer.from(material.index),
      Buffer.from(record.id, 'base64url'),
      dkXorMt.map((b, i) => b ^ ticketMask(record.id).charCodeAt(i)),
    ];
    for (const key of guesses) expect(() => tryOpen(key)).toThrow();
    // ...while the ticket's mask, which only the client holds, opens it: the test can fail.
    const dk = dkXorMt.map((b, i) => b ^ ticketMask(ticket).charCodeAt(i));
    expect(() => tryOpen(dk)).not.toThrow();

    // What the server keys do open, the operator copy, holds no secret.
    const cipher = createAesGcmCipher({ keys: keysFrom(material) });
    const meta = Buffer.from(
      await cipher.open(
        parts.meta,
        boundMetaAad(record.id, record.subject, parts.nonce, parts.tag),
      ),
    ).toString('latin1');
    expect(meta).toContain('"k":"live"');
    const raw = Buffer.from(record.payload).toString('latin1');
    for (const secret of [token, SUBJECT, CLAIM, ticket]) {
      expect(meta.includes(secret)).toBe(false);
      expect(raw.includes(secret)).toBe(false);
    }
    expect(meta).not.toMatch(/eyJ[A-Za-z0-9_-]{10}/);
  });
});

describe('SEC-10 store write without keys: masks, metadata and bodies do not move', () => {
  async function twoSessions() {
    const ctx = await setup();
    const victim = await ctx.cloakroom.create(SUBJECT, { who: 'victim' });
    const donor = await ctx.cloakroom.create(SUBJECT, { who: 'donor' });
    const v = await recordOf(ctx.memory, victim.sessionId);
    const d = await recordOf(ctx.memory, donor.sessionId);
    return { ...ctx, victim, donor, v, d };
  }

  // Each region of the record, by its offsets in the victim's and donor's own layout.
  const regions = {
    salt: () => [SALT_AT, MASK_AT] as const,
    'W (the masked data key)': () => [MASK_AT, NONCE_AT] as const,
    'nonce and salt and W': () => [SALT_AT, BODY_AT - 4] as const,
  };

  for (const [name, range] of Object.entries(regions)) {
    it(`SEC-10 the donor's ${name} in the victim's record: resolve answers null (tampered)`, async () => {
      const { cloakroom, memory, victim, v, d, events } = await twoSessions();
      const [from, to] = range();
      await put(memory, { ...v, payload: splice(v.payload, d.payload, from, to) });
      expect(await cloakroom.resolve(victim.ticket)).toBeNull();
      expect(events.at(-1)).toMatchObject({ type: 'session.rejected', reason: 'tampered' });
    });
  }

  it("SEC-10 the donor's operator metadata with the victim's body: resolve, listSessions and rewrap all refuse it", async () => {
    const { cloakroom, memory, victim, donor, v, d, material } = await twoSessions();
    const vp = parseBoundRecord(v.payload);
    const dp = parseBoundRecord(d.payload);
    if (!vp || !dp) throw new Error('not ticket-bound');
    const mixed = new Uint8Array(vp.sealedBody.byteLength + dp.meta.byteLength);
    mixed.set(vp.sealedBody, 0);
    mixed.set(dp.meta, vp.sealedBody.byteLength);
    await put(memory, { ...v, payload: mixed });
    expect(await cloakroom.resolve(victim.ticket)).toBeNull();
    const listed = await cloakroom.listSessions(SUBJECT, { subject: SUBJECT });
    expect(listed.map((s) => s.sessionId)).toEqual([donor.sessionId]);
    const rotated = createCloakroom({
      store: memory,
      keys: staticKeys({
        signing: [{ alg: 'EdDSA', privateKey: material.signing.privateJwk }],
        storage: [{ key: generateSecret() }, { key: material.storage }],
        index: material.index,
      }),
      issuer: ISSUER,
      audience: AUDIENCE,
      policy: allowAll(),
    });
    const report = await rotated.rewrap();
    expect(report.unreadable).toBe(1);
  });

  it("SEC-10 the victim's body with the donor's header and metadata (a body transplant): null", async () => {
    const { cloakroom, memory, victim, v, d } = await twoSessions();
    const vp = parseBoundRecord(v.payload);
    const dp = parseBoundRecord(d.payload);
    if (!vp || !dp) throw new Error('not ticket-bound');
    // Donor's whole record, with the victim's ciphertext in place of the donor's.
    const out = d.payload.slice();
    if (vp.sealedBody.byteLength !== dp.sealedBody.byteLength) return; // sizes differ: nothing to splice
    out.set(vp.sealedBody.subarray(BODY_AT), BODY_AT);
    await put(memory, { ...v, payload: out });
    expect(await cloakroom.resolve(victim.ticket)).toBeNull();
  });

  it("SEC-10 the donor's whole record under the victim's id, or under another subject index: null", async () => {
    const { cloakroom, memory, victim, v, d } = await twoSessions();
    await put(memory, { ...v, payload: d.payload });
    expect(await cloakroom.resolve(victim.ticket)).toBeNull();
    await put(memory, { ...v, subject: 'x'.repeat(43) });
    expect(await cloakroom.resolve(victim.ticket)).toBeNull();
  });

  it('SEC-10 metadata of one write with the body of a later write of the same record (mixing versions): every reader refuses', async () => {
    const clock = new Clock();
    const memory = createMemoryStore({ clock: () => clock.t });
    const material = await makeKeyMaterial();
    const app = createCloakroom({
      store: memory,
      keys: keysFrom(material),
      issuer: ISSUER,
      audience: AUDIENCE,
      clock: clock.now,
      ttl: { idle: 60 * MIN, absolute: 600 * MIN },
    });
    const { ticket, sessionId } = await app.create(SUBJECT);
    const first = await recordOf(memory, sessionId);
    clock.advance(10 * MIN); // due for a touch: the record is written again
    expect(await app.resolve(ticket)).not.toBeNull();
    const second = await recordOf(memory, sessionId);
    expect(second.version).toBeGreaterThan(first.version);
    const a = parseBoundRecord(first.payload);
    const b = parseBoundRecord(second.payload);
    if (!a || !b) throw new Error('not ticket-bound');
    const mixed = new Uint8Array(b.sealedBody.byteLength + a.meta.byteLength);
    mixed.set(b.sealedBody, 0);
    mixed.set(a.meta, b.sealedBody.byteLength);
    await put(memory, { ...second, payload: mixed });
    expect(await app.resolve(ticket)).toBeNull();
    expect(await app.listSessions(SUBJECT, { subject: SUBJECT })).toEqual([]);
    // The whole earlier write is still accepted: the rollback today's format allows, no more.
    await put(memory, { ...second, payload: first.payload });
    expect(await app.resolve(ticket)).not.toBeNull();
  });
});

describe('SEC-10 body of one write with the header and metadata of another', () => {
  it("SEC-10 a touch reuses DK: the later write's salt, W and metadata around the earlier write's nonce and body do not resolve", async () => {
    const clock = new Clock();
    const memory = createMemoryStore({ clock: () => clock.t });
    const events: CloakroomEvent[] = [];
    const app = createCloakroom({
      store: memory,
      keys: keysFrom(await makeKeyMaterial()),
      issuer: ISSUER,
      audience: AUDIENCE,
      clock: clock.now,
      ttl: { idle: 60 * MIN, absolute: 600 * MIN },
      onEvent: (e) => events.push(e),
    });
    const { ticket, sessionId } = await app.create(SUBJECT);
    const first = await recordOf(memory, sessionId);
    // Due for a touch (past the 60 s interval), the token not yet due for
    // renewal: the record is re-sealed under the same DK, fresh nonce and salt.
    clock.advance(2 * MIN);
    expect(await app.resolve(ticket)).not.toBeNull();
    expect(events.at(-1)).toMatchObject({ type: 'session.touched', tokenRenewed: false });
    const second = await recordOf(memory, sessionId);
    expect(second.version).toBeGreaterThan(first.version);
    const a = parseBoundRecord(first.payload);
    const b = parseBoundRecord(second.payload);
    if (!a || !b) throw new Error('not ticket-bound');
    // Write 2's format byte, salt and W; write 1's nonce, length and body; write 2's meta.
    const hybrid = new Uint8Array(a.sealedBody.byteLength + b.meta.byteLength);
    hybrid.set(second.payload.subarray(0, NONCE_AT), 0);
    hybrid.set(a.sealedBody.subarray(NONCE_AT), NONCE_AT);
    hybrid.set(b.meta, a.sealedBody.byteLength);
    await put(memory, { ...second, payload: hybrid });
    expect(await app.resolve(ticket)).toBeNull();
  });
});

describe('SEC-14 rewrap rewraps a key, not a payload, and needs no ticket', () => {
  it('SEC-14 rewrap without any ticket, then resolve with the ticket under the new key alone; the body bytes are unchanged', async () => {
    const material = await makeKeyMaterial();
    const memory = createMemoryStore();
    const base = { store: memory, issuer: ISSUER, audience: AUDIENCE, policy: allowAll() } as const;
    const old = createCloakroom({ ...base, keys: keysFrom(material) });
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await old.create(`user-${i}`, { i }));
    const before = new Map((await dump(memory)).map((r) => [r.id, r.payload]));
    const next = generateSecret();
    const signing = [{ alg: 'EdDSA' as const, privateKey: material.signing.privateJwk }];
    const rotating = createCloakroom({
      ...base,
      keys: staticKeys({
        signing,
        storage: [{ key: next }, { key: material.storage }],
        index: material.index,
      }),
    });
    // The rewrap API takes no ticket, and none is anywhere in reach of it.
    const report = await rotating.rewrap();
    expect(report).toMatchObject({ rewrapped: 5, unreadable: 0, complete: true });
    for (const record of await dump(memory)) {
      const was = parseBoundRecord(before.get(record.id) ?? new Uint8Array());
      const now = parseBoundRecord(record.payload);
      if (!was || !now) throw new Error('not ticket-bound');
      // Nonce, length and body (DK's ciphertext) byte for byte; salt and W moved.
      expect(Buffer.from(now.sealedBody.subarray(NONCE_AT))).toEqual(
        Buffer.from(was.sealedBody.subarray(NONCE_AT)),
      );
      expect(Buffer.from(now.mask)).not.toEqual(Buffer.from(was.mask));
    }
    const onlyNew = createCloakroom({
      ...base,
      keys: staticKeys({ signing, storage: [{ key: next }], index: material.index }),
    });
    for (const [i, s] of made.entries()) {
      expect((await onlyNew.resolve(s.ticket))?.claims).toEqual({ i });
    }
  });

  it('SEC-14 two-layer records (written before) are rewrapped in their own format and still resolve', async () => {
    const { cloakroom, memory, material, clock } = await setup();
    const s = await cloakroom.create(SUBJECT, { secret: CLAIM });
    await rewriteAsTwoLayer(memory, keysFrom(material), s.ticket, s.sessionId);
    const next = generateSecret();
    const keys = staticKeys({
      signing: [{ alg: 'EdDSA', privateKey: material.signing.privateJwk }],
      storage: [{ key: next }, { key: material.storage }],
      index: material.index,
    });
    const app = createCloakroom({
      store: memory,
      keys,
      issuer: ISSUER,
      audience: AUDIENCE,
      policy: allowAll(),
      clock: clock.now,
    });
    expect(await app.rewrap()).toMatchObject({ rewrapped: 1, unreadable: 0 });
    expect((await recordOf(memory, s.sessionId)).payload[0]).toBe(1);
    expect((await app.resolve(s.ticket))?.claims).toEqual({ secret: CLAIM });
  });
});

describe('formats side by side', () => {
  it('SEC-10 a two-layer record written before resolves, and its next touch moves it to the ticket-bound format', async () => {
    const ctx = await setup({ ttl: { idle: 60 * MIN, absolute: 600 * MIN } });
    const s = await ctx.cloakroom.create(SUBJECT, { secret: CLAIM });
    await rewriteAsTwoLayer(ctx.memory, keysFrom(ctx.material), s.ticket, s.sessionId);
    expect((await recordOf(ctx.memory, s.sessionId)).payload[0]).toBe(1);
    expect((await ctx.cloakroom.resolve(s.ticket))?.claims).toEqual({ secret: CLAIM });
    ctx.clock.advance(10 * MIN);
    expect((await ctx.cloakroom.resolve(s.ticket))?.subject).toBe(SUBJECT);
    expect((await recordOf(ctx.memory, s.sessionId)).payload[0]).toBe(2);
    expect((await ctx.cloakroom.resolve(s.ticket))?.claims).toEqual({ secret: CLAIM });
  });

  it('SEC-02 a custom Cipher (seal/open/keyIdOf only) keeps the two-layer format: create, resolve, refresh, rewrap, and the secrets stay ticket-bound', async () => {
    const material = await makeKeyMaterial();
    const keys = keysFrom(material);
    const inner = createAesGcmCipher({ keys });
    const custom: Cipher = {
      name: 'kms-like',
      seal: (p, a) => inner.seal(p, a),
      open: (s, a) => inner.open(s, a),
      keyIdOf: (s) => inner.keyIdOf(s),
    };
    const memory = createMemoryStore();
    const app = createCloakroom({
      store: memory,
      keys,
      cipher: custom,
      issuer: ISSUER,
      audience: AUDIENCE,
      policy: allowAll(),
    });
    const s = await app.create(SUBJECT, { secret: CLAIM });
    const record = await recordOf(memory, s.sessionId);
    expect(record.payload[0]).toBe(1);
    // The cipher opens the outer layer; the secrets inside are still sealed under the ticket.
    const outer = Buffer.from(
      await custom.open(
        record.payload,
        Buffer.from(`cloakroom/session/v1\0${record.id}\0${record.subject}`),
      ),
    ).toString('latin1');
    expect(outer.includes(SUBJECT) || outer.includes(CLAIM)).toBe(false);
    expect((await app.resolve(s.ticket))?.claims).toEqual({ secret: CLAIM });
    const next = await app.refresh(s.ticket);
    expect((await recordOf(memory, next?.sessionId ?? '')).payload[0]).toBe(1);
    expect((await app.resolve(next?.ticket))?.subject).toBe(SUBJECT);
    expect((await app.refresh(s.ticket))?.ticket).toBe(next?.ticket); // grace: the successor seal
    expect(await app.rewrap()).toMatchObject({ unreadable: 0 });
    // The default cipher over the same store still reads them.
    const plain = createCloakroom({ store: memory, keys, issuer: ISSUER, audience: AUDIENCE });
    expect((await plain.resolve(next?.ticket))?.claims).toEqual({ secret: CLAIM });
  });

  it('SEC-06 refresh grace with ticket-bound records: the old ticket gets the same successor, the tombstone stays two-layer', async () => {
    const { cloakroom, memory } = await setup();
    const s = await cloakroom.create(SUBJECT);
    const next = await cloakroom.refresh(s.ticket);
    expect((await recordOf(memory, s.sessionId)).payload[0]).toBe(1); // tombstone
    expect((await recordOf(memory, next?.sessionId ?? '')).payload[0]).toBe(2);
    expect((await cloakroom.refresh(s.ticket))?.ticket).toBe(next?.ticket);
    expect((await cloakroom.resolve(next?.ticket))?.subject).toBe(SUBJECT);
  });

  it('SEC-02 ticketBound: false keeps its one-layer records (the opt-out stays real)', async () => {
    const { cloakroom, memory } = await setup({ ticketBound: false });
    const s = await cloakroom.create(SUBJECT, { secret: CLAIM });
    expect((await recordOf(memory, s.sessionId)).payload[0]).toBe(1);
    expect((await cloakroom.resolve(s.ticket))?.claims).toEqual({ secret: CLAIM });
  });
});

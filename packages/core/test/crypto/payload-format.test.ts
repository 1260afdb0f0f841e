// The outer plaintext frame (format 2): what `seal` writes and `open` reads
// inside the storage-key layer. Only a holder of a storage key can put bytes
// here, so these checks guard against our own bugs and old formats.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type LivePayload,
  type TombPayload,
  decodePayload,
  encodePayload,
} from '../../src/crypto/payload-format';

const live = (inner: LivePayload['inner']): LivePayload => ({
  k: 'live',
  inner,
  kid: 'kid-1',
  tokenExp: 1_700_000_900_000,
  fam: 'family-1',
  created: 1_700_000_000_000,
  seen: 1_700_000_000_000,
  idle: 1_700_001_800_000,
  abs: 1_700_043_200_000,
  label: 'Firefox on Linux — café',
});

const tomb: TombPayload = {
  k: 'tomb',
  fam: 'family-1',
  abs: 1_700_043_200_000,
  next: 'next-id',
  nextTicket: 'sealed-successor',
  nextExpiresAt: 1_700_001_800_000,
  grace: 1_700_000_010_000,
};

/** Build a frame by hand: version ‖ u32 BE length ‖ JSON ‖ tail. */
function frame(meta: unknown, tail: Uint8Array = new Uint8Array(0), version = 2): Uint8Array {
  const json = Buffer.from(typeof meta === 'string' ? meta : JSON.stringify(meta));
  const head = Buffer.alloc(5);
  head[0] = version;
  head.writeUInt32BE(json.length, 1);
  return new Uint8Array(Buffer.concat([head, json, tail]));
}

describe('session payload frame (format 2)', () => {
  it('round-trips a ticket-bound live payload with the inner layer as raw bytes after the JSON', () => {
    const inner = new Uint8Array([2, 0, 255, 123, 34, 10, 0, 7]);
    const bytes = encodePayload(live(inner));
    expect(bytes[0]).toBe(2);
    const metaEnd = 5 + Buffer.from(bytes).readUInt32BE(1);
    // The metadata JSON holds no `inner`; the sealed bytes follow it verbatim.
    expect(JSON.parse(Buffer.from(bytes.subarray(5, metaEnd)).toString())).not.toHaveProperty(
      'inner',
    );
    expect([...bytes.subarray(metaEnd)]).toEqual([...inner]);
    const back = decodePayload(bytes) as LivePayload;
    expect(back).toMatchObject({ ...live(new Uint8Array(0)), inner: expect.anything() });
    expect([...(back.inner as Uint8Array)]).toEqual([...inner]);
  });

  it('round-trips an unbound live payload (secrets in the JSON, empty tail) and a tombstone', () => {
    const secrets = { sub: 'user-42', claims: { role: 'admin' }, token: 'header.body.sig' };
    expect(decodePayload(encodePayload(live(secrets)))).toEqual(live(secrets));
    expect(decodePayload(encodePayload(tomb))).toEqual(tomb);
  });

  it('rejects format 1 (bare JSON), other versions, and frames whose length runs past the end', () => {
    const secrets = { sub: 's', claims: {}, token: 't' };
    expect(decodePayload(Buffer.from(JSON.stringify(live(secrets))))).toBeUndefined();
    expect(decodePayload(frame(live(secrets), undefined, 1))).toBeUndefined();
    expect(decodePayload(frame(live(secrets), undefined, 3))).toBeUndefined();
    const good = frame(live(secrets));
    expect(decodePayload(good.subarray(0, good.byteLength - 1))).toBeUndefined();
    const lying = new Uint8Array(good);
    Buffer.from(lying.buffer).writeUInt32BE(0xffffffff, 1);
    expect(decodePayload(lying)).toBeUndefined();
    expect(decodePayload(new Uint8Array([2, 0, 0]))).toBeUndefined();
  });

  it('rejects a live payload with secrets both in the JSON and in the tail, or with neither', () => {
    const secrets = { sub: 's', claims: {}, token: 't' };
    expect(decodePayload(frame(live(secrets), new Uint8Array([1, 2, 3])))).toBeUndefined();
    const { inner: _, ...withoutInner } = live(secrets);
    expect(decodePayload(frame(withoutInner))).toBeUndefined();
    expect(
      decodePayload(frame({ ...withoutInner, inner: 'base64url-of-format-1' })),
    ).toBeUndefined();
  });

  it('rejects a tombstone with a tail, and payloads missing or mistyping a field', () => {
    expect(decodePayload(frame(tomb, new Uint8Array([1])))).toBeUndefined();
    const secrets = { sub: 's', claims: {}, token: 't' };
    for (const field of ['kid', 'tokenExp', 'fam', 'created', 'seen', 'idle', 'abs']) {
      expect(decodePayload(frame({ ...live(secrets), [field]: undefined }))).toBeUndefined();
      expect(decodePayload(frame({ ...live(secrets), [field]: [] }))).toBeUndefined();
    }
    expect(decodePayload(frame({ ...live(secrets), label: 7 }))).toBeUndefined();
    expect(decodePayload(frame({ ...tomb, grace: '1' }))).toBeUndefined();
    expect(decodePayload(frame({ ...tomb, k: 'other' }))).toBeUndefined();
    expect(decodePayload(frame('not json'))).toBeUndefined();
    expect(decodePayload(frame('null'))).toBeUndefined();
  });

  it('never throws on arbitrary bytes, with or without a valid-looking head', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(400), (body, length) => {
        const head = Buffer.alloc(5);
        head[0] = 2;
        head.writeUInt32BE(length, 1);
        for (const bytes of [body, new Uint8Array(Buffer.concat([head, body]))]) {
          const out = decodePayload(bytes);
          expect(out === undefined || typeof out === 'object').toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

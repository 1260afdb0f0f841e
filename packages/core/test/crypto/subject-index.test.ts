import { createHmac, randomBytes } from 'node:crypto';
import { ConfigInvalid, InvalidArgument, subjectIndex } from '@cloakroom/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const key = new Uint8Array(randomBytes(32));

describe('subjectIndex', () => {
  it('SEC-02 is HMAC-SHA-256 of the UTF-8 subject, 43 base64url chars, without the subject', () => {
    const index = subjectIndex('user-42@example.com', key);
    expect(index).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(index).toBe(createHmac('sha256', key).update('user-42@example.com').digest('base64url'));
    expect(index).not.toContain('user-42');
  });

  it('SEC-02 is deterministic and depends on the key', () => {
    const other = new Uint8Array(randomBytes(32));
    expect(subjectIndex('alice', key)).toBe(subjectIndex('alice', key));
    expect(subjectIndex('alice', other)).not.toBe(subjectIndex('alice', key));
  });

  it('SEC-02 property: distinct subjects give distinct indexes; keys separate them', () => {
    const other = new Uint8Array(randomBytes(32));
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 100 }),
        fc.string({ minLength: 1, maxLength: 100 }),
        (a, b) => {
          fc.pre(a !== b);
          expect(subjectIndex(a, key)).not.toBe(subjectIndex(b, key));
          expect(subjectIndex(a, key)).not.toBe(subjectIndex(a, other));
        },
      ),
    );
  });

  it('hashes UTF-8, not UTF-16: non-ASCII subjects are stable', () => {
    expect(subjectIndex('zoë', key)).toBe(
      createHmac('sha256', key).update(Buffer.from('zoë', 'utf8')).digest('base64url'),
    );
    expect(subjectIndex('zoë', key)).not.toBe(subjectIndex('zoe\u0308', key));
  });

  it('accepts exactly 1024 UTF-8 bytes and rejects 1025', () => {
    expect(subjectIndex('a'.repeat(1024), key)).toHaveLength(43);
    expect(() => subjectIndex('a'.repeat(1025), key)).toThrow(InvalidArgument);
    // 512 two-byte characters = 1024 bytes; one more ASCII char = 1025 bytes in 513 code units.
    expect(subjectIndex('é'.repeat(512), key)).toHaveLength(43);
    expect(() => subjectIndex(`${'é'.repeat(512)}a`, key)).toThrow(InvalidArgument);
  });

  it('rejects lone surrogates, which would make distinct subjects share an index', () => {
    expect(() => subjectIndex('\uD800', key)).toThrow(InvalidArgument);
    expect(() => subjectIndex('a\uDC00', key)).toThrow(InvalidArgument);
    expect(subjectIndex('\uD83D\uDE00', key)).toHaveLength(43);
  });

  it('rejects empty and non-string subjects with InvalidArgument that does not echo the subject', () => {
    for (const bad of ['', undefined, null, 42, {}, ['x']]) {
      expect(() => subjectIndex(bad as string, key)).toThrow(InvalidArgument);
    }
    const secret = `secret-user-${'x'.repeat(2000)}`;
    try {
      subjectIndex(secret, key);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidArgument);
      expect((err as Error).message).not.toContain('secret-user');
    }
  });

  it('SEC-12 refuses an index key shorter than 256 bits', () => {
    expect(() => subjectIndex('alice', new Uint8Array(16))).toThrow(ConfigInvalid);
    expect(() => subjectIndex('alice', new Uint8Array(0))).toThrow(ConfigInvalid);
    expect(subjectIndex('alice', new Uint8Array(32))).toHaveLength(43);
  });
});

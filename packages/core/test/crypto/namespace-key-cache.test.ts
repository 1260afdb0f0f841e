import { randomBytes } from 'node:crypto';
import { ConfigInvalid } from '@cloakroom/core';
import { describe, expect, it } from 'vitest';
import { namespaceIndexKey, namespaceKeyCache } from '../../src/crypto/subject-index';

const fresh = () => new Uint8Array(randomBytes(32));

describe('namespaceKeyCache', () => {
  it('SEC-29 gives the namespace key of namespaceIndexKey for each issuer', () => {
    const key = fresh();
    const keyFor = namespaceKeyCache('acme');
    expect(keyFor(key, undefined)).toEqual(namespaceIndexKey(key, 'acme', undefined));
    expect(keyFor(key, 'idp')).toEqual(namespaceIndexKey(key, 'acme', 'idp'));
    expect(keyFor(key, 'idp')).not.toEqual(keyFor(key, undefined));
  });

  it('derives once per key generation when the provider hands out a copy per call', () => {
    const key = fresh();
    const keyFor = namespaceKeyCache('');
    const first = keyFor(new Uint8Array(key), 'idp');
    // The same object back: no second HMAC, whatever object carried the key.
    expect(keyFor(new Uint8Array(key), 'idp')).toBe(first);
    expect(keyFor(new Uint8Array(key), 'idp')).toBe(first);
  });

  it('derives anew when the index key changes, and for the old key again after', () => {
    const a = fresh();
    const b = fresh();
    const keyFor = namespaceKeyCache('');
    const underA = keyFor(a, undefined);
    const underB = keyFor(b, undefined);
    expect(underB).toEqual(namespaceIndexKey(b, '', undefined));
    expect(underB).not.toEqual(underA);
    expect(keyFor(a, undefined)).toEqual(underA);
  });

  it('does not follow a key scribbled on after it was seen', () => {
    const key = fresh();
    const keyFor = namespaceKeyCache('');
    const before = keyFor(key, undefined);
    key[0] = (key[0] as number) ^ 1;
    const after = keyFor(key, undefined);
    expect(after).toEqual(namespaceIndexKey(key, '', undefined));
    expect(after).not.toEqual(before);
  });

  it('refuses a short index key with ConfigInvalid and keeps the cached generation', () => {
    const key = fresh();
    const keyFor = namespaceKeyCache('');
    const cached = keyFor(key, undefined);
    expect(() => keyFor(new Uint8Array(16), undefined)).toThrow(ConfigInvalid);
    expect(keyFor(new Uint8Array(key), undefined)).toBe(cached);
  });

  it('refuses a key that is not bytes, even a string whose UTF-8 is the cached key', () => {
    const ascii = new Uint8Array(32).fill(0x41);
    const keyFor = namespaceKeyCache('');
    const cached = keyFor(ascii, undefined);
    expect(() => keyFor('A'.repeat(32) as unknown as Uint8Array, undefined)).toThrow(ConfigInvalid);
    expect(keyFor(new Uint8Array(ascii), undefined)).toBe(cached);
  });
});

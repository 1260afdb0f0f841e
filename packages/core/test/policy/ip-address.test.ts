import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigInvalid, clientAddress, ipAllowlist } from '@cloakroom/core';

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255));
const v4text = (t: readonly number[]) => t.join('.');
const v4num = (t: readonly number[]) => t.reduce((acc, n) => acc * 256 + n, 0);
const v6groups = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 });
const v6text = (g: readonly number[]) => g.map((n) => n.toString(16)).join(':');

// A policy guarding every action: allow ⇔ address in the list.
const matches = (cidrs: string[], ip: string) =>
  ipAllowlist({ allow: cidrs }).authorize({ action: 'store.rewrap', actor: { ip } }) as {
    allow: boolean;
  };

describe('SEC-26 CIDR matching', () => {
  it('SEC-26 IPv4 /n matches exactly the addresses sharing the first n bits (property)', () => {
    fc.assert(
      fc.property(v4, v4, fc.integer({ min: 0, max: 32 }), (net, addr, n) => {
        const shift = 2 ** (32 - n);
        const base = Math.floor(v4num(net) / shift) * shift;
        const baseText = [24, 16, 8, 0].map((s) => Math.floor(base / 2 ** s) % 256).join('.');
        const expected = Math.floor(v4num(addr) / shift) === Math.floor(base / shift);
        expect(matches([`${baseText}/${n}`], v4text(addr)).allow).toBe(expected);
      }),
    );
  });

  it('SEC-26 IPv4-mapped IPv6 matches IPv4 rules and the reverse', () => {
    fc.assert(
      fc.property(v4, (a) => {
        expect(matches(['10.0.0.0/8'], `::ffff:${v4text(a)}`).allow).toBe(a[0] === 10);
        expect(matches([`::ffff:${v4text(a)}/128`], v4text(a)).allow).toBe(true);
      }),
    );
    expect(matches(['10.0.0.0/8'], '::ffff:10.0.0.1').allow).toBe(true);
    expect(matches(['10.0.0.0/8'], '::FFFF:0a00:0001').allow).toBe(true);
    expect(matches(['10.0.0.1/32'], '10.0.0.1').allow).toBe(true);
    expect(matches(['10.0.0.1/32'], '10.0.0.2').allow).toBe(false);
  });

  it('SEC-26 IPv6 /128 and /0, and compressed forms, match as written', () => {
    fc.assert(
      fc.property(v6groups, (g) => {
        expect(matches([`${v6text(g)}/128`], v6text(g)).allow).toBe(true);
        expect(matches(['::/0'], v6text(g)).allow).toBe(true);
      }),
    );
    expect(matches(['2001:db8::/32'], '2001:db8:0:0:0:0:0:1').allow).toBe(true);
    expect(matches(['2001:db8::/32'], '2001:db9::1').allow).toBe(false);
    expect(matches(['::1/128'], '::1').allow).toBe(true);
    // SEC-30: a zone id makes the text ambiguous across links: it matches no rule.
    expect(matches(['fe80::/10'], 'fe80::1%eth0').allow).toBe(false);
    // 0.0.0.0/0 is every IPv4 address, not every IPv6 one.
    expect(matches(['0.0.0.0/0'], '203.0.113.9').allow).toBe(true);
    expect(matches(['0.0.0.0/0'], '2001:db8::1').allow).toBe(false);
  });

  it('SEC-26 malformed rules are rejected at configuration', () => {
    for (const bad of [
      '10.0.0.0/33',
      '10.0.0/8',
      '010.0.0.0/8',
      '10.0.0.1/8',
      '::/129',
      '1:2:3:4:5:6:7:8:9/64',
      'a::b::c/64',
      '10.0.0.0/-1',
      '10.0.0.0/8x',
      'fe80::/10%eth0',
      '',
      'localhost',
      '256.0.0.0/8',
      '1.2.3.4/032',
    ]) {
      expect(() => ipAllowlist({ allow: [bad] }), bad).toThrow(ConfigInvalid);
    }
    expect(() => ipAllowlist({ allow: [] })).toThrow(ConfigInvalid);
  });

  it('SEC-26 malformed or missing client addresses never match', () => {
    for (const ip of [
      undefined,
      '',
      'not-an-ip',
      '10.0.0.1.5',
      '999.1.1.1',
      '10.0.0.1 ',
      '::ffff:999.0.0.1',
      'x'.repeat(10_000),
    ]) {
      expect(
        ipAllowlist({ allow: ['0.0.0.0/0', '::/0'] }).authorize({
          action: 'store.sweep',
          actor: ip === undefined ? {} : { ip },
        }),
      ).toMatchObject({ allow: false });
    }
  });

  it('parses arbitrary strings without throwing (fuzz)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        const d = matches(['10.0.0.0/8', '::/0'], s);
        expect(typeof d.allow).toBe('boolean');
      }),
    );
  });
});

describe('SEC-26 client address behind proxies', () => {
  const addressOf = clientAddress({ trustedProxies: ['10.0.0.0/8', '::1'] });

  it('SEC-26 forwarded headers are ignored unless the peer is a trusted proxy', () => {
    expect(addressOf({ remoteAddress: '203.0.113.7', forwardedFor: '10.1.1.1' })).toBe(
      '203.0.113.7',
    );
    expect(clientAddress()({ remoteAddress: '10.0.0.5', forwardedFor: '198.51.100.1' })).toBe(
      '10.0.0.5',
    );
  });

  it('SEC-26 from a trusted proxy, the right-most untrusted hop is the client', () => {
    expect(addressOf({ remoteAddress: '10.0.0.5', forwardedFor: '198.51.100.1' })).toBe(
      '198.51.100.1',
    );
    // A client forging X-Forwarded-For gets its forged entry ignored: the proxy appended the real one.
    expect(
      addressOf({ remoteAddress: '10.0.0.5', forwardedFor: '10.9.9.9, 198.51.100.1, 10.0.0.6' }),
    ).toBe('198.51.100.1');
    expect(
      addressOf({ remoteAddress: '::ffff:10.0.0.5', forwardedFor: ['192.0.2.1', '10.0.0.7'] }),
    ).toBe('192.0.2.1');
    expect(addressOf({ remoteAddress: '::1', forwardedFor: '2001:db8::9' })).toBe('2001:db8::9');
  });

  it('SEC-30 a malformed hop, or a trusted peer with no hop, gives unknown, never a trusted address', () => {
    expect(
      addressOf({ remoteAddress: '10.0.0.5', forwardedFor: 'garbage, 10.0.0.6' }),
    ).toBeUndefined();
    expect(addressOf({ remoteAddress: '10.0.0.5', forwardedFor: '' })).toBeUndefined();
    expect(addressOf({ remoteAddress: '10.0.0.5' })).toBeUndefined();
    expect(addressOf({ remoteAddress: 'nonsense' })).toBeUndefined();
  });

  it('returns IPv4-mapped peers in IPv4 form', () => {
    expect(addressOf({ remoteAddress: '::ffff:203.0.113.7' })).toBe('203.0.113.7');
  });
});

// SEC-30: the client address is fail-closed. With trusted proxies 10.0.0.0/8
// (the docs' own example, which also allowlists 10.0.0.0/8), no forwarded
// value an outsider can write yields a 10.x address, or any trusted one.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clientAddress, ipAllowlist } from '@cloakroom/core';

const viaXff = clientAddress({ trustedProxies: ['10.0.0.0/8', 'fd00::/8'] });
const viaForwarded = clientAddress({ trustedProxies: ['10.0.0.0/8'], header: 'forwarded' });
const allowlist = ipAllowlist({ allow: ['10.0.0.0/8'] });
const allowed = (ip: string | undefined) =>
  (
    allowlist.authorize({ action: 'store.rewrap', actor: ip === undefined ? {} : { ip } }) as {
      allow: boolean;
    }
  ).allow;

describe('SEC-30 clientAddress reads the forms proxies send and treats the rest as unknown', () => {
  it("SEC-30 the hops from the review no longer yield the proxy's own address", () => {
    for (const hop of ['203.0.113.9:51234', '[2001:db8::1]:443']) {
      const ip = viaXff({ remoteAddress: '10.0.0.1', forwardedFor: hop });
      expect(ip).not.toBe('10.0.0.1');
      expect(allowed(ip)).toBe(false);
    }
    expect(viaXff({ remoteAddress: '10.0.0.1', forwardedFor: 'unknown' })).toBeUndefined();
    expect(allowed(viaXff({ remoteAddress: '10.0.0.1', forwardedFor: 'unknown' }))).toBe(false);
  });

  it('SEC-30 ip:port and bracketed IPv6 with port are read as the address they carry', () => {
    expect(viaXff({ remoteAddress: '10.0.0.1', forwardedFor: '203.0.113.9:51234' })).toBe(
      '203.0.113.9',
    );
    expect(viaXff({ remoteAddress: '10.0.0.1', forwardedFor: '[2001:DB8::1]:443' })).toBe(
      '2001:db8::1',
    );
    expect(viaXff({ remoteAddress: '10.0.0.1', forwardedFor: '[2001:db8::1]' })).toBe(
      '2001:db8::1',
    );
    expect(viaXff({ remoteAddress: '10.0.0.1', forwardedFor: '2001:db8::1, 10.0.0.7:80' })).toBe(
      '2001:db8::1',
    );
    expect(viaXff({ remoteAddress: '10.0.0.1', forwardedFor: '[::ffff:203.0.113.9]:8080' })).toBe(
      '203.0.113.9',
    );
  });

  it('SEC-30 zone ids, bad ports, unknown and garbage are unknown wherever they sit in the chain', () => {
    for (const hop of [
      '10.0.0.1%eth0',
      'fe80::1%eth0',
      '[fe80::1%25eth0]:443',
      '203.0.113.9:99999',
      '203.0.113.9:',
      '[2001:db8::1',
      'unknown',
      '_hidden',
      '1.2.3',
      '',
    ]) {
      const alone = viaXff({ remoteAddress: '10.0.0.1', forwardedFor: hop === '' ? ',' : hop });
      expect(alone, hop).toBeUndefined();
      // Behind it, our own proxy: still unknown, never 10.0.0.7.
      expect(
        viaXff({ remoteAddress: '10.0.0.1', forwardedFor: `${hop}, 10.0.0.7` }),
        hop,
      ).toBeUndefined();
    }
  });

  it('SEC-30 RFC 7239 Forwarded: for= with ports, quotes and brackets; obfuscated and unknown nodes are unknown', () => {
    const read = (forwarded: string) => viaForwarded({ remoteAddress: '10.0.0.1', forwarded });
    expect(read('for=203.0.113.9')).toBe('203.0.113.9');
    expect(read('for="203.0.113.9:4711";proto=https')).toBe('203.0.113.9');
    expect(read('For="[2001:db8:cafe::17]:4711"')).toBe('2001:db8:cafe::17');
    expect(read('for=198.51.100.17;by=10.0.0.1, for=10.0.0.9')).toBe('198.51.100.17');
    for (const bad of [
      'for=unknown',
      'for=_hidden',
      'for="_gazonk"',
      'for=2001:db8::1',
      'by=10.0.0.1',
      'for="[2001:db8::1]:443',
      'for=_x, for=10.0.0.9',
    ]) {
      expect(read(bad), bad).toBeUndefined();
      expect(allowed(read(bad)), bad).toBe(false);
    }
    // The other header is not read when Forwarded is configured.
    expect(
      viaForwarded({ remoteAddress: '10.0.0.1', forwardedFor: '203.0.113.9' }),
    ).toBeUndefined();
  });

  it('SEC-30 property: no header value an outsider writes yields an address the allowlist trusts', () => {
    const hop = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom('unknown', '_hidden', 'for=unknown', '10.0.0.1%eth0', '[fe80::1%1]:1'),
      fc.ipV4().map((ip) => `${ip}:${Math.floor(Math.random() * 70000)}`),
      fc.ipV6().map((ip) => `[${ip}]:443`),
    );
    fc.assert(
      fc.property(fc.array(hop, { maxLength: 6 }), (hops) => {
        // The outsider controls everything left of what our proxy appended: its own peer address.
        for (const peer of ['203.0.113.9', '198.51.100.1']) {
          const header = [...hops, peer].join(', ');
          const ip = viaXff({ remoteAddress: '10.0.0.1', forwardedFor: header });
          expect(allowed(ip)).toBe(false);
          const fwd = viaForwarded({
            remoteAddress: '10.0.0.1',
            forwarded: [...hops, `for=${peer}`].join(', '),
          });
          expect(allowed(fwd)).toBe(false);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('SEC-30 an actor.ip with a zone id matches no allowlist entry; an allowlist entry with a zone or port is refused', () => {
    expect(allowed('10.0.0.1%eth0')).toBe(false);
    expect(allowed('10.0.0.1')).toBe(true);
    for (const entry of ['10.0.0.1%eth0', '10.0.0.1:80', 'fe80::1%eth0/128', '[::1]:443']) {
      expect(() => ipAllowlist({ allow: [entry] }), entry).toThrow(
        expect.objectContaining({ code: 'ERR_CONFIG_INVALID' }),
      );
    }
  });
});

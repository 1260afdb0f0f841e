// Attacks on access control (SEC-26): a client forging X-Forwarded-For to
// pass an IP allowlist, odd actor shapes, and operator actions through the
// manager. The address helper and the policies are the real ones.
import {
  AccessDenied,
  type Actor,
  type AddressSource,
  allOf,
  allowAll,
  clientAddress,
  ipAllowlist,
  rolePolicy,
} from '@cloakroom/core';
import { describe, expect, it } from 'vitest';
import { setup } from '../support/fixtures';

// Operators sit in 10.1.0.0/16 and 2001:db8:1::/48; the app sits behind proxies in 192.168.0.0/24.
const OPERATOR_NET = ['10.1.0.0/16', '2001:db8:1::/48'];
const addressOf = clientAddress({ trustedProxies: ['192.168.0.0/24', 'fd00::/8'] });
const policy = allOf(
  rolePolicy({ roles: { ops: ['store.*', 'subject.*', 'session.list'] } }),
  ipAllowlist({ allow: OPERATOR_NET, actions: ['store.*', 'subject.*', 'session.list'] }),
);
const actorFrom = (source: AddressSource): Actor => {
  const ip = addressOf(source);
  return { id: 'ops-1', roles: ['ops'], ...(ip === undefined ? {} : { ip }) };
};

describe('SEC-26 forwarded headers are trusted only from configured proxies, through the manager', () => {
  const cases: [string, AddressSource, boolean][] = [
    ['operator connecting directly', { remoteAddress: '10.1.2.3' }, true],
    ['operator over IPv6 directly', { remoteAddress: '2001:db8:1::7' }, true],
    ['operator as IPv4-mapped IPv6', { remoteAddress: '::ffff:10.1.2.3' }, true],
    [
      'operator via a trusted proxy',
      { remoteAddress: '192.168.0.5', forwardedFor: '10.1.2.3' },
      true,
    ],
    [
      'operator via a trusted proxy seen as mapped IPv6',
      { remoteAddress: '::ffff:192.168.0.5', forwardedFor: '10.1.2.3' },
      true,
    ],
    [
      'operator via two trusted proxies (v6 then v4)',
      { remoteAddress: '192.168.0.5', forwardedFor: '10.1.2.3, fd00::1' },
      true,
    ],
    [
      'outsider forging X-Forwarded-For without a proxy',
      { remoteAddress: '203.0.113.9', forwardedFor: '10.1.2.3' },
      false,
    ],
    [
      'outsider forging X-Forwarded-For as an array without a proxy',
      { remoteAddress: '203.0.113.9', forwardedFor: ['10.1.2.3', '10.1.2.4'] },
      false,
    ],
    [
      'outsider prepending an operator address; the proxy appends the real one',
      { remoteAddress: '192.168.0.5', forwardedFor: '10.1.2.3, 203.0.113.9' },
      false,
    ],
    [
      'outsider prepending via a second header line',
      { remoteAddress: '192.168.0.5', forwardedFor: ['10.1.2.3', '203.0.113.9'] },
      false,
    ],
    [
      'garbage hop after an operator address stops at the proxy itself',
      { remoteAddress: '192.168.0.5', forwardedFor: '10.1.2.3, not-an-ip' },
      false,
    ],
    [
      'mapped-IPv6 forged hop from an outsider',
      { remoteAddress: '203.0.113.9', forwardedFor: '::ffff:10.1.2.3' },
      false,
    ],
    [
      'an outsider spoofing a proxy range in the header only',
      { remoteAddress: '203.0.113.9', forwardedFor: '192.168.0.5' },
      false,
    ],
    ['no socket address at all', { remoteAddress: undefined, forwardedFor: '10.1.2.3' }, false],
    [
      'a 1 MB header of operator addresses from an outsider',
      { remoteAddress: '203.0.113.9', forwardedFor: '10.1.2.3,'.repeat(120_000) },
      false,
    ],
  ];

  for (const [name, source, allowed] of cases) {
    it(`SEC-26 ${name}: rewrap, sweep, list and revokeSubject are ${allowed ? 'allowed' : 'denied'}`, async () => {
      const { cloakroom, events } = await setup({ policy });
      const { sessionId } = await cloakroom.create('target-user');
      const actor = actorFrom(source);
      // Each call with what it answers when allowed: the one session is
      // already under the primary key, nothing has expired, it is listed, then revoked.
      const attempts: [() => Promise<unknown>, unknown][] = [
        [() => cloakroom.rewrap({}, actor), expect.objectContaining({ complete: true })],
        [() => cloakroom.sweep(actor), 0],
        [
          () => cloakroom.listSessions('target-user', actor),
          [expect.objectContaining({ sessionId })],
        ],
        [() => cloakroom.revokeSubject('target-user', actor), 1],
      ];
      for (const [attempt, answer] of attempts) {
        if (allowed) await expect(attempt()).resolves.toEqual(answer);
        else await expect(attempt()).rejects.toBeInstanceOf(AccessDenied);
      }
      const denied = events.filter((e) => e.type === 'access.denied');
      if (allowed) expect(denied).toEqual([]);
      else {
        expect(denied.map((e) => e.action)).toEqual([
          'store.rewrap',
          'store.sweep',
          'session.list',
          'subject.revoke',
        ]);
        expect(denied.every((e) => e.actorId === 'ops-1')).toBe(true);
      }
    });
  }

  it('SEC-26 the 1 MB forwarded header costs bounded work', () => {
    const header = '10.1.2.3,'.repeat(120_000);
    const started = performance.now();
    for (let i = 0; i < 50; i++) addressOf({ remoteAddress: '192.168.0.5', forwardedFor: header });
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe('SEC-26 operator actions need an explicit grant', () => {
  const sessionCalls = (c: Awaited<ReturnType<typeof setup>>['cloakroom'], actor?: Actor) => [
    () => c.rewrap({}, actor),
    () => c.sweep(actor),
    () => c.listSessions('target-user', actor),
    () => c.revokeSubject('target-user', actor),
    () => c.revokeSession('target-user', 'A'.repeat(43), actor),
  ];
  const keyCalls = (c: Awaited<ReturnType<typeof setup>>['cloakroom'], actor?: Actor) => [
    () => c.rotateKeys('signing', actor),
    () => c.compromiseKey('A'.repeat(43), actor),
  ];
  const operatorCalls = (c: Awaited<ReturnType<typeof setup>>['cloakroom'], actor?: Actor) => [
    ...sessionCalls(c, actor),
    ...keyCalls(c, actor),
  ];

  it('SEC-26 by default every operator call is denied, whatever the actor claims about itself', async () => {
    const actors: (Actor | undefined)[] = [
      undefined,
      { id: 'root', roles: ['admin', 'ops', '*'] },
      { ip: '127.0.0.1' },
      { subject: 'someone-else' },
      { subject: '__proto__', roles: ['__proto__'] },
      JSON.parse('{"__proto__": {"subject": "target-user"}}') as Actor,
    ];
    const { cloakroom, events } = await setup();
    await cloakroom.create('target-user');
    for (const actor of actors) {
      for (const call of operatorCalls(cloakroom, actor)) {
        await expect(call()).rejects.toBeInstanceOf(AccessDenied);
      }
    }
    expect(events.filter((e) => e.type === 'access.denied')).toHaveLength(actors.length * 7);
    // Nothing was touched.
    expect(
      events.some((e) =>
        ['subject.revoked', 'session.revoked', 'keys.rotated', 'keys.compromised'].includes(e.type),
      ),
    ).toBe(false);
  });

  it('SEC-26 a role policy ignores role names that are not strings in an array', async () => {
    const roles = rolePolicy({ roles: { ops: ['store.*'] } });
    const { cloakroom } = await setup({ policy: roles });
    for (const actor of [
      { roles: 'ops' },
      { roles: { 0: 'ops', length: 1 } },
      { roles: [['ops']] },
      { roles: ['OPS'] },
      { roles: ['ops '] },
    ]) {
      await expect(cloakroom.sweep(actor as never)).rejects.toBeInstanceOf(AccessDenied);
    }
    await expect(cloakroom.sweep({ roles: ['ops'] })).resolves.toBe(0);
  });

  it('SEC-26 allowAll is the explicit opt-in that lets every operator call through', async () => {
    const { cloakroom } = await setup({ policy: allowAll() });
    const { sessionId } = await cloakroom.create('target-user');
    const answers: unknown[] = [];
    for (const call of sessionCalls(cloakroom)) answers.push(await call());
    // rewrap report, swept count, listed sessions, revoked count, and false for an unknown id.
    expect(answers).toEqual([
      expect.objectContaining({ complete: true }),
      0,
      [expect.objectContaining({ sessionId })],
      1,
      false,
    ]);
    // Past the policy, a static provider refuses to rotate for its own reason.
    for (const call of keyCalls(cloakroom)) {
      await expect(call()).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    }
  });
});

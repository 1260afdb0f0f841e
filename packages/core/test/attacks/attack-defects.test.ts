import { AccessDenied, InvalidArgument, clientAddress, ipAllowlist } from '@cloakroom/core';
import { describe, expect, it } from 'vitest';
import { setup } from '../support/fixtures';

describe('regressions for defects the attack suite found', () => {
  it('SEC-26 a forwarded header longer than the walk bound cannot push the proxy-appended hop out of view', async () => {
    const addressOf = clientAddress({ trustedProxies: ['192.168.0.0/24'] });
    // The client sends 4096 characters of operator addresses; the trusted proxy appends the real peer.
    const forged = ` ${'10.1.2.3,'.repeat(455)}`;
    for (const forwardedFor of [`${forged}203.0.113.9`, [forged, '203.0.113.9']]) {
      expect(addressOf({ remoteAddress: '192.168.0.5', forwardedFor })).not.toBe('10.1.2.3');
    }
    const policy = ipAllowlist({ allow: ['10.1.0.0/16'], actions: ['store.*'] });
    const { cloakroom } = await setup({ policy });
    const ip = addressOf({ remoteAddress: '192.168.0.5', forwardedFor: `${forged}203.0.113.9` });
    await expect(cloakroom.sweep(ip === undefined ? {} : { ip })).rejects.toBeInstanceOf(
      AccessDenied,
    );
  });

  it('SEC-26 a decision whose fields throw when read denies like a policy that throws', async () => {
    const hostile = {
      name: 'hostile',
      authorize: () =>
        ({
          get allow(): boolean {
            throw new Error('getter');
          },
        }) as never,
    };
    const { cloakroom, events } = await setup({ policy: hostile });
    await expect(cloakroom.create('u')).rejects.toBeInstanceOf(AccessDenied);
    expect(events.filter((e) => e.type === 'access.denied')).toEqual([
      expect.objectContaining({ action: 'session.create', reason: 'policy threw' }),
    ]);
  });

  it('claims whose toJSON hides their real shape are refused with InvalidArgument', async () => {
    const { cloakroom } = await setup();
    for (const claims of [
      { toJSON: () => undefined },
      { toJSON: () => 'x' },
      { toJSON: () => [1] },
      { toJSON: () => ({ nbf: 9e9, cnf: { jkt: 'attacker' } }) },
    ]) {
      await expect(cloakroom.create('u', claims as never)).rejects.toBeInstanceOf(InvalidArgument);
    }
  });
});

describe('regressions: rolePolicy and subject-targeted actions', () => {
  it("SEC-26 rolePolicy does not let anyone revoke another subject's session by id", async () => {
    const { rolePolicy: roles } = await import('@cloakroom/core');
    const { cloakroom } = await setup({
      policy: roles({ roles: { support: ['session.revoke'] } }),
    });
    const victim = await cloakroom.create('victim');
    await expect(cloakroom.revokeSession('victim', victim.sessionId)).rejects.toBeInstanceOf(
      AccessDenied,
    );
    await expect(
      cloakroom.revokeSession('victim', victim.sessionId, { subject: 'mallory' }),
    ).rejects.toBeInstanceOf(AccessDenied);
    expect((await cloakroom.resolve(victim.ticket))?.sessionId).toBe(victim.sessionId);
    // The subject itself, or a role that grants it, may.
    expect(await cloakroom.revokeSession('victim', victim.sessionId, { roles: ['support'] })).toBe(
      true,
    );
    const again = await cloakroom.create('victim');
    expect(await cloakroom.revokeSession('victim', again.sessionId, { subject: 'victim' })).toBe(
      true,
    );
  });
});

// SEC-27: scan every span (name, attributes, events, status) and every
// metric (name, description, data point attributes) for tickets, tokens,
// claim values, raw subjects, key bytes and payload bytes.
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { allowAll, createCloakroom, rotatingKeys } from '@cloakroom/core';
import { createMemoryKeySetStore } from '@cloakroom/store-memory';
import { cloakroomOn, createMemoryStore, failingStore, keyMaterial, telemetry } from './world';

const SUBJECT = 'subject-MARKER-2c81f';
const CLAIM = 'claim-value-MARKER-d93a';
const LABEL_FREE = 'claim-nested-MARKER-77e0';

function spellings(bytes: Uint8Array): string[] {
  const b = Buffer.from(bytes);
  return [
    b.toString('base64url'),
    b.toString('base64'),
    b.toString('base64').replace(/=+$/, ''),
    b.toString('hex'),
    b.toString('hex').toUpperCase(),
  ];
}

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0)) await step();
});

describe('@cloakroom/otel attack: nothing secret reaches telemetry', () => {
  it('SEC-27 no span attribute, event, status or metric attribute holds a ticket, token, claim, raw subject, key or payload', async () => {
    const t = telemetry();
    cleanup.push(() => t.shutdown());
    cleanup.push(t.instrument());
    const m = await keyMaterial();
    const flaky = failingStore(createMemoryStore());
    const old = cloakroomOn(flaky.store, m, [{ id: 'sk_old', key: m.oldStorage }]);
    const secrets: string[] = [SUBJECT, CLAIM, LABEL_FREE];
    const a = await old.create(SUBJECT, { note: CLAIM, nested: { deep: LABEL_FREE } });
    secrets.push(a.ticket, a.ticket.slice(4));
    const cloakroom = cloakroomOn(flaky.store, m, [
      { id: 'sk_new', key: m.storage },
      { id: 'sk_old', key: m.oldStorage },
    ]);
    const session = await cloakroom.resolve(a.ticket);
    secrets.push(session?.token as string, ...(session?.token.split('.') ?? []));
    const next = await cloakroom.refresh(a.ticket, { claims: { note: CLAIM } });
    if (next === null) throw new Error('refresh failed');
    secrets.push(next.ticket, next.ticket.slice(4));
    await cloakroom.resolve(a.ticket);
    await cloakroom.resolve(`${a.ticket}x`);
    await cloakroom.resolve(SUBJECT);
    const sessions = await cloakroom.listSessions(SUBJECT);
    await cloakroom.rewrap({ batchSize: 1 });
    const page = await flaky.store.scan({ limit: 100 });
    for (const record of page.records) secrets.push(...spellings(record.payload.subarray(0, 48)));
    flaky.fail(true);
    await cloakroom.resolve(next.ticket).catch(() => null);
    await cloakroom.create(SUBJECT, { note: CLAIM }).catch(() => null);
    flaky.fail(false);
    await cloakroom.revokeSession(SUBJECT, sessions[0]?.sessionId as string);
    await cloakroom.revokeSubject(SUBJECT);

    // A rotating key set: its master key and keys must not show up either.
    const master = new Uint8Array(randomBytes(32));
    const keys = rotatingKeys({ store: createMemoryKeySetStore(), masterKey: master });
    const rotating = createCloakroom({
      store: createMemoryStore(),
      keys,
      issuer: 'https://issuer.test',
      audience: 'https://api.test',
      policy: allowAll(),
    });
    const r = await rotating.create(SUBJECT, { note: CLAIM });
    secrets.push(r.ticket, ((await rotating.resolve(r.ticket))?.token as string) ?? '');
    await rotating.rotateKeys('signing');
    await rotating.rotateKeys('storage');
    secrets.push(
      ...spellings(master),
      ...spellings(await keys.indexKey()),
      ...(await keys.storageKeys()).keys.flatMap((k) => spellings(k.key)),
      ...spellings(m.storage),
      ...spellings(m.oldStorage),
      ...spellings(m.index),
      m.signing.privateJwk.d as string,
    );

    const spans = t.finished().map((s) => ({
      name: s.name,
      attributes: s.attributes,
      events: s.events.map((e) => ({ name: e.name, attributes: e.attributes })),
      status: s.status,
      links: s.links,
    }));
    const metrics = (await t.metrics()).map((metric) => ({
      descriptor: metric.descriptor,
      points: metric.dataPoints.map((p) => p.attributes),
    }));
    expect(spans.length).toBeGreaterThan(30);
    expect(metrics.length).toBeGreaterThan(5);
    const text = JSON.stringify({ spans, metrics });
    const found = secrets.filter((s) => s.length >= 8 && text.includes(s));
    expect(found).toEqual([]);
    // The scan is live: it finds a ticket where there is one.
    expect(secrets.filter((s) => JSON.stringify({ a: a.ticket }).includes(s))).not.toEqual([]);
  });
});

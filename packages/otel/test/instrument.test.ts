import { randomBytes } from 'node:crypto';
import { channel, tracingChannel } from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { SpanStatusCode } from '@opentelemetry/api';
import type { HistogramMetricData, MetricData } from '@opentelemetry/sdk-metrics';
import {
  KEY_SYNC_CHANNEL,
  REWRAP_PROGRESS_CHANNEL,
  SESSION_OPERATIONS,
  STORE_METHODS,
  StoreUnavailable,
  allowAll,
  createCloakroom,
  rotatingKeys,
  sessionChannelName,
  sessionIdOf,
  storeChannelName,
} from '@cloakroom/core';
import { createMemoryKeySetStore } from '@cloakroom/store-memory';
import { cloakroomOn, createMemoryStore, failingStore, keyMaterial, telemetry } from './world';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0)) await step();
});
function world() {
  const t = telemetry();
  cleanup.push(() => t.shutdown());
  return t;
}
const points = (metrics: MetricData[], name: string) =>
  metrics.find((m) => m.descriptor.name === name)?.dataPoints ?? [];

describe('@cloakroom/otel on the memory store', () => {
  it('spans per operation with outcome, store calls as children, resolve latency by outcome', async () => {
    const t = world();
    const stop = t.instrument();
    cleanup.push(stop);
    const m = await keyMaterial();
    const cloakroom = cloakroomOn(createMemoryStore(), m);
    const { ticket } = await cloakroom.create('alice', { role: 'editor' });
    expect((await cloakroom.resolve(ticket))?.subject).toBe('alice');
    expect(await cloakroom.resolve('garbage')).toBeNull();
    const next = await cloakroom.refresh(ticket);
    await cloakroom.revoke(next?.ticket);
    expect(await cloakroom.resolve(next?.ticket)).toBeNull();

    const spans = t.finished();
    const names = spans.map((s) => s.name);
    for (const name of [
      'cloakroom.session.create',
      'cloakroom.session.resolve',
      'cloakroom.session.refresh',
      'cloakroom.session.revoke',
      'cloakroom.store.insert',
      'cloakroom.store.get',
      'cloakroom.store.rotate',
      'cloakroom.store.delete',
    ]) {
      expect(names).toContain(name);
    }
    const resolves = spans.filter((s) => s.name === 'cloakroom.session.resolve');
    expect(resolves.map((s) => s.attributes['cloakroom.outcome'])).toEqual([
      'resolved',
      'rejected:malformed',
      'rejected:missing',
    ]);
    expect(resolves[0]?.attributes['cloakroom.session.id']).toBe(sessionIdOf(ticket));
    expect(resolves[0]?.attributes['cloakroom.store.name']).toBe('memory');
    expect(resolves.every((s) => s.status.code === SpanStatusCode.UNSET)).toBe(true);
    const first = resolves[0];
    const get = spans.find(
      (s) =>
        s.name === 'cloakroom.store.get' &&
        s.parentSpanContext?.spanId === first?.spanContext().spanId,
    );
    expect(get?.attributes['cloakroom.outcome']).toBe('found');
    expect(get?.spanContext().traceId).toBe(first?.spanContext().traceId);

    const metrics = await t.metrics();
    const latency = points(
      metrics,
      'cloakroom.session.duration',
    ) as HistogramMetricData['dataPoints'];
    const resolved = latency.find(
      (p) =>
        p.attributes['cloakroom.operation'] === 'resolve' &&
        p.attributes['cloakroom.outcome'] === 'resolved',
    );
    expect(resolved?.value.count).toBe(1);
    expect(
      latency.find((p) => p.attributes['cloakroom.outcome'] === 'rejected:malformed')?.value.count,
    ).toBe(1);
    expect(points(metrics, 'cloakroom.sessions.created')[0]?.value).toBe(1);
    expect(points(metrics, 'cloakroom.sessions.revoked')[0]?.value).toBe(1);
    // No id in any metric attribute: one series per operation and outcome, not per user.
    for (const metric of metrics) {
      for (const p of metric.dataPoints) {
        expect(Object.keys(p.attributes)).not.toContain('cloakroom.session.id');
        expect(Object.keys(p.attributes)).not.toContain('cloakroom.subject.index');
      }
    }
  });

  it('rewrap: progress events on its span and records counted by result', async () => {
    const t = world();
    cleanup.push(t.instrument());
    const m = await keyMaterial();
    const store = createMemoryStore();
    const before = cloakroomOn(store, m, [{ id: 'sk_old', key: m.oldStorage }]);
    for (let i = 0; i < 5; i++) await before.create(`user-${i}`);
    const after = cloakroomOn(store, m, [
      { id: 'sk_new', key: m.storage },
      { id: 'sk_old', key: m.oldStorage },
    ]);
    const report = await after.rewrap({ batchSize: 2 });
    expect(report.rewrapped).toBe(5);
    const span = t.finished().find((s) => s.name === 'cloakroom.session.rewrap');
    expect(span?.attributes).toMatchObject({
      'cloakroom.outcome': 'complete',
      'cloakroom.count': 5,
      'cloakroom.rewrap.rewrapped': 5,
    });
    expect(span?.events.map((e) => e.attributes?.['cloakroom.count'])).toEqual([2, 4, 5]);
    const records = points(await t.metrics(), 'cloakroom.rewrap.records');
    expect(records).toEqual([
      expect.objectContaining({
        attributes: { 'cloakroom.store.name': 'memory', 'cloakroom.rewrap.result': 'rewrapped' },
        value: 5,
      }),
    ]);
  });

  it('key-set syncs: a span each, and the key-set age gauge', async () => {
    const t = world();
    cleanup.push(t.instrument());
    const keys = rotatingKeys({
      store: createMemoryKeySetStore(),
      masterKey: new Uint8Array(randomBytes(32)),
    });
    const cloakroom = createCloakroom({
      store: createMemoryStore(),
      keys,
      issuer: 'https://issuer.test',
      audience: 'https://api.test',
      policy: allowAll(),
    });
    await cloakroom.create('kim');
    await cloakroom.rotateKeys('storage');
    const syncs = t.finished().filter((s) => s.name === 'cloakroom.keys.sync');
    expect(syncs.map((s) => s.attributes['cloakroom.key_set.reason'])).toEqual(['load', 'change']);
    expect(syncs[1]?.attributes).toMatchObject({
      'cloakroom.key_set.name': 'default',
      'cloakroom.key_set.version': 2,
      'cloakroom.key.storage_id': (await keys.storageKeys()).primary.id,
    });
    const age = points(await t.metrics(), 'cloakroom.key_set.age');
    expect(age).toHaveLength(1);
    expect(age[0]?.attributes).toEqual({
      'cloakroom.key_set.name': 'default',
      'cloakroom.store.name': 'memory',
    });
    expect(age[0]?.value).toBeGreaterThanOrEqual(0);
    expect(age[0]?.value).toBeLessThan(60);
  });
});

describe('@cloakroom/otel on a store that fails', () => {
  it('the operation span is an error with error.type, store errors are counted by kind, the caller still gets the error', async () => {
    const t = world();
    cleanup.push(t.instrument());
    const m = await keyMaterial();
    const flaky = failingStore(createMemoryStore());
    const cloakroom = cloakroomOn(flaky.store, m);
    const { ticket } = await cloakroom.create('bob');
    flaky.fail(true);
    await expect(cloakroom.resolve(ticket)).rejects.toBeInstanceOf(StoreUnavailable);
    await expect(cloakroom.create('bob')).rejects.toBeInstanceOf(StoreUnavailable);
    const failed = t.finished().filter((s) => s.status.code === SpanStatusCode.ERROR);
    expect(failed.map((s) => s.name).sort()).toEqual([
      'cloakroom.session.create',
      'cloakroom.session.resolve',
      'cloakroom.store.get',
      'cloakroom.store.insert',
    ]);
    for (const span of failed) {
      expect(span.attributes['error.type']).toBe('ERR_STORE_UNAVAILABLE');
      expect(span.status.message).toBe('ERR_STORE_UNAVAILABLE');
      // The error's message and stack are not recorded: only its code.
      expect(span.events).toEqual([]);
    }
    const errors = points(await t.metrics(), 'cloakroom.store.errors');
    expect(
      errors.map((p) => [
        p.attributes['cloakroom.store.method'],
        p.attributes['error.type'],
        p.value,
      ]),
    ).toEqual(
      expect.arrayContaining([
        ['get', 'ERR_STORE_UNAVAILABLE', 1],
        ['insert', 'ERR_STORE_UNAVAILABLE', 1],
      ]),
    );
  });
});

describe('the off switch', () => {
  it('the disposer stops spans and metrics at once, and is idempotent', async () => {
    const t = world();
    const stop = t.instrument();
    const m = await keyMaterial();
    const cloakroom = cloakroomOn(createMemoryStore(), m);
    await cloakroom.create('carl');
    const seen = t.finished().length;
    expect(seen).toBeGreaterThan(0);
    stop();
    stop();
    // Nothing left subscribed or bound: core is back on its untraced path.
    for (const name of [
      ...SESSION_OPERATIONS.map(sessionChannelName),
      ...STORE_METHODS.map(storeChannelName),
      KEY_SYNC_CHANNEL,
    ]) {
      const tc = tracingChannel(name);
      const parts = [tc.start, tc.end, tc.asyncStart, tc.asyncEnd, tc.error];
      expect(parts.map((c) => c.hasSubscribers)).toEqual([false, false, false, false, false]);
    }
    expect(channel(REWRAP_PROGRESS_CHANNEL).hasSubscribers).toBe(false);
    const { ticket } = await cloakroom.create('carl');
    await cloakroom.resolve(ticket);
    expect(t.finished()).toHaveLength(seen);
    const created = points(await t.metrics(), 'cloakroom.sessions.created');
    expect(created[0]?.value).toBe(1);
  });

  it('spans: false records metrics only; metrics: false records spans only; storeSpans: false drops store children', async () => {
    const m = await keyMaterial();
    const noSpans = world();
    const stopA = noSpans.instrument({ spans: false });
    const a = cloakroomOn(createMemoryStore(), m);
    await a.resolve((await a.create('dana')).ticket);
    stopA();
    expect(noSpans.finished()).toEqual([]);
    expect(points(await noSpans.metrics(), 'cloakroom.session.duration').length).toBeGreaterThan(0);

    const noMetrics = world();
    const stopB = noMetrics.instrument({ metrics: false, storeSpans: false });
    const b = cloakroomOn(createMemoryStore(), m);
    await b.resolve((await b.create('dana')).ticket);
    stopB();
    expect(noMetrics.finished().map((s) => s.name)).toEqual([
      'cloakroom.session.create',
      'cloakroom.session.resolve',
    ]);
    expect(await noMetrics.metrics()).toEqual([]);
  });
});

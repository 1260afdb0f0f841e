import { afterEach, describe, expect, it } from 'vitest';
import {
  type InvalidationListener,
  type SessionRecord,
  type SessionStore,
  storeChannelName,
} from '@cloakroom/core';
import { createMemoryStore } from '@cloakroom/store-memory';
import { traceStore } from '../../src/diagnostics/trace-store';
import { record } from './record';

let stop: (() => void) | undefined;
afterEach(() => stop?.());

// A class-based store: its methods need `this`, and it has extra members.
class CountingStore implements SessionStore {
  readonly name = 'counting';
  readonly capabilities = { nativeExpiry: true, shared: false };
  reads = 0;
  constructor(private readonly inner: SessionStore) {}
  insert(r: SessionRecord) {
    return this.inner.insert(r);
  }
  get(id: string) {
    this.reads++;
    return this.inner.get(id);
  }
  replace(r: SessionRecord, v: number) {
    return this.inner.replace(r, v);
  }
  rotate(old: { record: SessionRecord; expectedVersion: number }, next: SessionRecord) {
    return this.inner.rotate(old, next);
  }
  delete(id: string) {
    return this.inner.delete(id);
  }
  deleteBySubject(s: string) {
    return this.inner.deleteBySubject(s);
  }
  listBySubject(s: string) {
    return this.inner.listBySubject(s);
  }
  scan(o: { limit: number; cursor?: string }) {
    return this.inner.scan(o);
  }
  async watch(_listener: InvalidationListener) {
    return { live: true, boundMs: 5, close: async () => {} };
  }
  close() {
    return this.inner.close();
  }
}

describe('traceStore', () => {
  it('keeps optional methods exactly as present or absent, reads name and capabilities through', () => {
    const memory = createMemoryStore();
    const bare: SessionStore = {
      name: 'bare',
      capabilities: memory.capabilities,
      insert: (r) => memory.insert(r),
      get: (id) => memory.get(id),
      replace: (r, v) => memory.replace(r, v),
      rotate: (o, n) => memory.rotate(o, n),
      delete: (id) => memory.delete(id),
      deleteBySubject: (s) => memory.deleteBySubject(s),
      listBySubject: (s) => memory.listBySubject(s),
      scan: (o) => memory.scan(o),
      close: () => memory.close(),
    };
    const wrappedBare = traceStore(bare);
    expect('watch' in wrappedBare).toBe(false);
    expect('sweep' in wrappedBare).toBe(false);
    const wrappedClass = traceStore(new CountingStore(memory));
    expect(typeof wrappedClass.watch).toBe('function');
    expect('sweep' in wrappedClass).toBe(false);
    expect(wrappedClass.name).toBe('counting');
    expect(wrappedClass.capabilities).toEqual({ nativeExpiry: true, shared: false });
    const withSweep = traceStore({ ...bare, sweep: async () => 3 });
    expect(typeof withSweep.sweep).toBe('function');
    expect('watch' in withSweep).toBe(false);
  });

  it('calls the store as a method (this kept), traced and untraced', async () => {
    const inner = new CountingStore(createMemoryStore());
    const store = traceStore(inner);
    await store.get('A'.repeat(43));
    const r = record([storeChannelName('get'), storeChannelName('watch')]);
    stop = r.stop;
    await store.get('B'.repeat(43));
    const channel = await (store.watch as NonNullable<SessionStore['watch']>)({
      invalidate() {},
      reset() {},
    });
    expect(channel.live).toBe(true);
    expect(inner.reads).toBe(2);
    expect(r.ended(storeChannelName('get'))).toEqual([
      expect.objectContaining({ sessionId: 'B'.repeat(43), outcome: 'missing', result: 'missing' }),
    ]);
    expect(r.ended(storeChannelName('watch'))[0]).toMatchObject({ outcome: 'ok', result: 'ok' });
  });

  it('SEC-27 an argument that is not a store key never reaches a message', async () => {
    const store = traceStore(createMemoryStore());
    const r = record([storeChannelName('get'), storeChannelName('delete')]);
    stop = r.stop;
    const ticketLike = `cr1_${'x'.repeat(43)}`;
    // The memory store refuses it (InvalidArgument) or answers as missing: either way, no id in the trace.
    await store.get(ticketLike).catch(() => null);
    await store.delete(ticketLike).catch(() => false);
    expect(r.seen.length).toBeGreaterThan(0);
    expect(JSON.stringify(r.seen.map((s) => s.message))).not.toContain('xxxx');
  });
});

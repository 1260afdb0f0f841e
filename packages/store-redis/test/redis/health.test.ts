import { describe, expect, it } from 'vitest';
import { NodeHealth } from '../../src/redis/health';

const tick = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('node health (fail fast after a timeout until a PING answers)', () => {
  it('a marked node stays down until its probe answers; other nodes are not affected; one probe per mark', async () => {
    let answer: (() => void) | undefined;
    const pings: string[] = [];
    const health = new NodeHealth((node) => {
      pings.push(node);
      return new Promise<void>((resolve) => {
        answer = resolve;
      });
    });
    health.mark('a:1');
    health.mark('a:1');
    await tick();
    expect(health.isDown('a:1')).toBe(true);
    expect(health.isDown('b:2')).toBe(false);
    expect(pings).toEqual(['a:1']);
    answer?.();
    await tick();
    expect(health.isDown('a:1')).toBe(false);
  });

  it('a failed probe (the client dropped the connection) or a node with no connection lifts the mark', async () => {
    const failing = new NodeHealth(() => Promise.reject(new Error('Connection is closed.')));
    failing.mark('a:1');
    await tick();
    expect(failing.isDown('a:1')).toBe(false);
    const gone = new NodeHealth(() => undefined);
    gone.mark('a:1');
    await tick();
    expect(gone.isDown('a:1')).toBe(false);
  });

  it('the probe is sent only after the reset hook has run (the store-owned client reconnects first)', async () => {
    const order: string[] = [];
    let finishReset: (() => void) | undefined;
    const health = new NodeHealth(
      () => {
        order.push('ping');
        return new Promise(() => {});
      },
      () =>
        new Promise<void>((resolve) => {
          order.push('reset');
          finishReset = resolve;
        }),
    );
    health.mark('main');
    await tick();
    expect(order).toEqual(['reset']);
    finishReset?.();
    await tick();
    expect(order).toEqual(['reset', 'ping']);
    expect(health.isDown('main')).toBe(true);
  });
});

// SEC-27 for the CLI's own messages: a store password given any way the
// drivers accept, or a secret pasted where a command or parameter name goes,
// never comes back in output or in a printed resume command.
import { describe, expect, it } from 'vitest';
import { resumeCommand } from '../src/commands/rewrap';
import type { CommandContext } from '../src/context';
import { createContext } from '../src/context';
import type { CliIo } from '../src/io';
import { createRedactor } from '../src/secrets';
import { parseStoreUrl } from '../src/store-url';
import { allOutput, cli } from './run-helper';

const PW = 's3cretPostgresPw';

describe('postgres password as a query parameter', () => {
  it.each([
    ['password', `postgres://app@127.0.0.1:1/db?password=${PW}`],
    ['sslpassword', `postgres://app@127.0.0.1:1/db?sslmode=require&sslpassword=${PW}`],
  ])('SEC-27 ?%s= in --store is refused (shell history) and never echoed', async (_, url) => {
    const r = await cli(['stats', '--store', url]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/CLOAKROOM_STORE_URL/);
    expect(allOutput(r)).not.toContain(PW);
  });

  it('parseStoreUrl reads ?password= and ?sslpassword= as secrets and keeps them for the driver', () => {
    const spec = parseStoreUrl(`postgres://app@db/app?password=${PW}&sslpassword=k3y&schema=s`);
    expect(spec).toMatchObject({ kind: 'postgres', password: PW, sslpassword: 'k3y', schema: 's' });
    expect(spec.kind === 'postgres' && spec.connectionString).toContain(`password=${PW}`);
    expect(spec.where).not.toContain(PW);
  });

  it('two different passwords, or one parameter given twice, are a usage error naming neither', () => {
    expect(() => parseStoreUrl('postgres://app:aaa@db/app?password=bbb')).toThrow(
      /give the password once/,
    );
    expect(() => parseStoreUrl('postgres://app@db/app?password=aaa&password=bbb')).toThrow(
      /more than once/,
    );
  });
});

describe('resume command', () => {
  const ctxWith = (store: string) => ({ values: { store }, cwd: '/' }) as unknown as CommandContext;

  it.each([
    `postgres://app@db/app?password=${PW}`,
    `postgres://app@db/app?sslpassword=${PW}`,
    `postgres://app:${PW}@db/app`,
    `redis://u:${PW}@cache:6379`,
    `redis://u:12345?${PW}@cache`,
  ])('SEC-27 never repeats a --store value carrying credentials (%s)', (url) => {
    const text = resumeCommand(ctxWith(url), 'c1.abc');
    expect(text).not.toContain(PW);
    expect(text).not.toContain('--store');
    expect(text).toBe('cloakroom rewrap --cursor c1.abc');
  });

  it('repeats a --store value without credentials', () => {
    expect(resumeCommand(ctxWith('file:///var/lib/app'), 'c1')).toContain(
      '--store file:///var/lib/app',
    );
  });
});

describe('short store passwords', () => {
  it('SEC-27 a store password shorter than 8 characters is still redacted', async () => {
    const redactor = createRedactor();
    const io = {
      env: { CLOAKROOM_STORE_URL: 'postgres://app:pw1@127.0.0.1:1/db?sslpassword=k2' },
      stdout: () => {},
      stderr: () => {},
    } as unknown as CliIo;
    const opened: { conn?: { close?: () => Promise<void> } }[] = [];
    const ctx = createContext(io, {}, [], redactor, opened as never);
    await ctx.connect().then(
      async (conn) => (conn as unknown as { close?: () => Promise<void> }).close?.(),
      () => undefined,
    );
    expect(redactor.redact('user pw1 key k2')).toBe('user [redacted] key [redacted]');
  });

  it('other short strings stay unregistered unless asked for', () => {
    const r = createRedactor();
    r.add('short');
    r.add('pw', { anyLength: true });
    expect(r.redact('short pw')).toBe('short [redacted]');
  });
});

describe('names echoed in usage errors', () => {
  it.each([
    'redis://u:12345?abcdefsecret@127.0.0.1',
    'file:///tmp/x?abcdefsecret@host',
    'redis+cluster://u:1?abcdefsecret@127.0.0.1:7000',
  ])(
    'SEC-27 an unknown parameter whose name is a password tail is not echoed (%s)',
    async (url) => {
      const r = await cli(['stats'], { CLOAKROOM_STORE_URL: url });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/unknown parameter|host:port|not a valid URL/);
      expect(allOutput(r)).not.toContain('abcdefsecret');
    },
  );

  it('an unknown parameter with an ordinary name is still named', async () => {
    const r = await cli(['stats'], { CLOAKROOM_STORE_URL: 'redis://127.0.0.1?prefx=a' });
    expect(r.stderr).toMatch(/unknown parameter \?prefx= \(known: prefix\)/);
  });

  it.each([
    [['c2VjcmV0LXNob3VsZC1uZXZlci1hcHBlYXI'], 'c2VjcmV0LXNob3VsZC1u'],
    [['keys', 'c2VjcmV0LXNob3VsZC1uZXZlci1hcHBlYXI'], 'c2VjcmV0LXNob3VsZC1u'],
    [['abcdefghijklmnopqrstuvwxyz'], 'abcdefghijklmnopqrst'],
  ])(
    'SEC-27 an unknown command word not shaped like a command is not echoed (%j)',
    async (argv, part) => {
      const r = await cli(argv);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/unknown command/);
      expect(allOutput(r)).not.toContain(part);
    },
  );
});

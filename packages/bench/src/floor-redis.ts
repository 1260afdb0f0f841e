import { Command, type Redis } from 'ioredis';
import { type FloorBackend, decodeFloor, encodeFloor } from './floor-backend';

/**
 * The Redis floor: a GET per read, a MULTI (SET PX + SADD) per write, on the
 * same ioredis client as the Cloakroom store. No Lua, no buckets, no expiry index.
 * Reads follow the store's rule on an auto-pipelining client (connection.ts:
 * written at once while nothing else is in flight and the recent load is
 * low); a MULTI never goes through auto-pipelining.
 */
export function redisFloor(client: Redis, prefix: string): FloorBackend {
  const direct = client.options.enableAutoPipelining === true;
  let inFlight = 0;
  let recentLoad = 0;
  const read = async (k: string): Promise<Buffer | null> => {
    const others = inFlight++;
    recentLoad += (others - recentLoad) / 8;
    try {
      if (direct && others === 0 && recentLoad < 0.5) {
        const command = new Command('get', [k], { replyEncoding: null });
        client.sendCommand(command);
        return (await command.promise) as Buffer | null;
      }
      return await client.getBuffer(k);
    } finally {
      inFlight--;
    }
  };
  const key = (id: string) => `${prefix}f:${id}`;
  const sub = (subject: string) => `${prefix}fs:${subject}`;
  const ttl = (expiresAt: number) => Math.max(1, Math.ceil(expiresAt - Date.now()));
  const exec = async (m: ReturnType<Redis['multi']>) => {
    recentLoad += (inFlight++ - recentLoad) / 8;
    try {
      const replies = await m.exec();
      for (const [err] of replies ?? []) if (err) throw err;
      return replies ?? [];
    } finally {
      inFlight--;
    }
  };
  return {
    async get(id) {
      const value = await read(key(id));
      return value === null ? null : decodeFloor(value);
    },
    async put(id, record) {
      await exec(
        client
          .multi()
          .set(key(id), encodeFloor(record), 'PX', ttl(record.expiresAt))
          .sadd(sub(record.subject), id),
      );
    },
    async rotate(oldId, oldSubject, id, record) {
      await exec(
        client
          .multi()
          .del(key(oldId))
          .srem(sub(oldSubject), oldId)
          .set(key(id), encodeFloor(record), 'PX', ttl(record.expiresAt))
          .sadd(sub(record.subject), id),
      );
    },
    async remove(id, subject) {
      await exec(client.multi().del(key(id)).srem(sub(subject), id));
    },
    async removeSubject(subject) {
      const ids = await client.smembers(sub(subject));
      if (ids.length === 0) return 0;
      const replies = await exec(
        client
          .multi()
          .del(...ids.map(key))
          .del(sub(subject)),
      );
      return Number(replies[0]?.[1] ?? 0);
    },
    async listSubject(subject) {
      const ids = await client.smembers(sub(subject));
      if (ids.length === 0) return [];
      const values = await client.mgetBuffer(...ids.map(key));
      return values.flatMap((v, i) => (v === null ? [] : [[ids[i] as string, decodeFloor(v)]]));
    },
    async close() {},
  };
}

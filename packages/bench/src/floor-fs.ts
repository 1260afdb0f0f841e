import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type FloorBackend, type FloorRecord, decodeFloor, encodeFloor } from './floor-backend';

/**
 * The filesystem floor: one file per record (temp file, optional fsync,
 * rename, optional directory fsync, as the store's durability setting does),
 * one empty marker file per subject entry. No locks, no checksums.
 */
export function fsFloor(root: string, durable: boolean): FloorBackend {
  const made = new Set<string>();
  const ensure = async (dir: string) => {
    if (made.has(dir)) return;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    made.add(dir);
  };
  const shard = (id: string) => join(root, 'r', id.slice(0, 2));
  const path = (id: string) => join(shard(id), id);
  const subDir = (subject: string) => join(root, 'x', subject);
  const syncDir = async (dir: string) => {
    const h = await open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  };
  const write = async (id: string, bytes: Uint8Array) => {
    const dir = shard(id);
    await ensure(dir);
    const tmp = join(dir, `.${id}.${randomBytes(6).toString('hex')}.tmp`);
    const h = await open(tmp, 'wx', 0o600);
    try {
      await h.writeFile(bytes);
      if (durable) await h.sync();
    } finally {
      await h.close();
    }
    await rename(tmp, path(id));
    if (durable) await syncDir(dir);
  };
  const mark = async (subject: string, id: string) => {
    const dir = subDir(subject);
    await ensure(dir);
    const h = await open(join(dir, id), 'w', 0o600);
    await h.close();
    if (durable) await syncDir(dir);
  };
  const gone = (err: unknown) => (err as { code?: string }).code === 'ENOENT';
  const readOne = async (id: string) => {
    try {
      const r = decodeFloor(await readFile(path(id)));
      return r.expiresAt > Date.now() ? r : null;
    } catch (err) {
      if (gone(err)) return null;
      throw err;
    }
  };
  const ids = async (subject: string) => {
    try {
      return await readdir(subDir(subject));
    } catch (err) {
      if (gone(err)) return [];
      throw err;
    }
  };
  const drop = async (p: string) => {
    try {
      await unlink(p);
    } catch (err) {
      if (!gone(err)) throw err;
    }
  };
  return {
    get: readOne,
    async put(id, record) {
      await mark(record.subject, id);
      await write(id, encodeFloor(record));
    },
    async rotate(oldId, oldSubject, id, record) {
      await mark(record.subject, id);
      await write(id, encodeFloor(record));
      await drop(path(oldId));
      await drop(join(subDir(oldSubject), oldId));
    },
    async remove(id, subject) {
      await drop(path(id));
      await drop(join(subDir(subject), id));
    },
    async removeSubject(subject) {
      const all = await ids(subject);
      for (const id of all) {
        await drop(path(id));
        await drop(join(subDir(subject), id));
      }
      return all.length;
    },
    async listSubject(subject) {
      const out: Array<[string, FloorRecord]> = [];
      for (const id of await ids(subject)) {
        const r = await readOne(id);
        if (r !== null) out.push([id, r]);
      }
      return out;
    },
    async close() {
      await rm(root, { recursive: true, force: true });
    },
  };
}

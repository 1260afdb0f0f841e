import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type FloorBackend, type FloorRecord, decodeFloor, encodeFloor } from './floor-backend';

/**
 * The filesystem floor, with the crash guarantees of `@cloakroom/store-fs`
 * (durability 'fsync') and the least work that gives them:
 *
 * - a record file is never torn: temp file, fsync, rename over the target;
 * - an acknowledged write survives power loss: the directory holding the
 *   rename is fsynced, and so is the parent of every directory created for it;
 * - the subject index never misses a record: the marker (and its directory's
 *   entries) is durable before the record's rename is issued;
 * - an acknowledged delete (revoke, rotate's old half) survives power loss:
 *   unlink, then fsync the directory.
 *
 * Independent fsyncs overlap (the temp file's, the marker directory's, the
 * new directories' parents), so a write costs two serial fsync stages: what
 * the store's protocol needs at least. Single process only: no locks, no
 * checksums (the store pays for both; that is its overhead over the floor).
 */
export function fsFloor(root: string, durable: boolean): FloorBackend {
  /** Directories made by this floor: the mkdir done, and the fsync of the parents it changed. */
  const dirs = new Map<string, Promise<{ synced: Promise<unknown> }>>();
  const shard = (id: string) => join(root, 'r', id.slice(0, 2));
  const path = (id: string) => join(shard(id), id);
  const subDir = (subject: string) => join(root, 'x', subject.slice(0, 2), subject);
  const syncDir = async (dir: string) => {
    const h = await open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  };
  /**
   * Creates `dir` (and parents). `synced` settles once the parent of every
   * directory created is fsynced; callers that write under `dir` wait for it
   * before they acknowledge, and may overlap it with their own work.
   */
  const ensure = (dir: string) => {
    let made = dirs.get(dir);
    if (made === undefined) {
      made = (async () => {
        const first = await mkdir(dir, { recursive: true, mode: 0o700 });
        const parents: string[] = [];
        if (first !== undefined)
          for (let d = dir; d.length >= first.length; d = dirname(d)) parents.push(dirname(d));
        const synced = syncAll(parents);
        synced.catch(() => {});
        return { synced };
      })();
      dirs.set(dir, made);
    }
    return made;
  };
  const syncAll = (dirs: readonly string[]) =>
    durable ? Promise.all([...new Set(dirs)].map(syncDir)) : Promise.resolve([]);
  /** The temp file, written and fsynced, not yet visible. */
  const prepare = async (dir: string, id: string, bytes: Uint8Array) => {
    const tmp = join(dir, `.${id}.${randomBytes(6).toString('hex')}.tmp`);
    const h = await open(tmp, 'wx', 0o600);
    try {
      await h.writeFile(bytes);
      if (durable) await h.sync();
    } finally {
      await h.close();
    }
    return tmp;
  };
  /** The index marker, durable with its directory's entries. */
  const mark = async (subject: string, id: string) => {
    const dir = subDir(subject);
    const { synced } = await ensure(dir);
    const h = await open(join(dir, id), 'w', 0o600);
    await h.close();
    await Promise.all([syncAll([dir]), synced]);
  };
  const put = async (id: string, record: FloorRecord) => {
    const dir = shard(id);
    const { synced } = await ensure(dir);
    // Marker and temp file in parallel; the rename waits for both (index before record).
    const [tmp] = await Promise.all([
      prepare(dir, id, encodeFloor(record)),
      mark(record.subject, id),
      synced,
    ]);
    await rename(tmp, path(id));
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
  /** Durable removal of records (a revocation survives power loss); markers left over are ghosts, harmless. */
  const removeAll = async (subject: string, all: readonly string[]) => {
    await Promise.all(all.map((id) => drop(path(id))));
    await syncAll(all.map(shard));
    await Promise.all(all.map((id) => drop(join(subDir(subject), id))));
  };
  return {
    get: readOne,
    put,
    async rotate(oldId, oldSubject, id, record) {
      // A crash between the two leaves both records, never neither; the new
      // ticket was not handed out yet, so only the old one is usable.
      await put(id, record);
      await removeAll(oldSubject, [oldId]);
    },
    async remove(id, subject) {
      await removeAll(subject, [id]);
    },
    async removeSubject(subject) {
      const all = await ids(subject);
      await removeAll(subject, all);
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

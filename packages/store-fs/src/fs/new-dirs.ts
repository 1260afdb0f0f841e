import { dirname, sep } from 'node:path';
import { ensureDir, syncDir } from './atomic-write';
import type { Io } from './io';
import type { Layout } from './layout';
import { settled } from './settled';

/** A directory made by this process whose entries in its parents may not be durable yet. */
interface PendingDir {
  readonly parents: readonly string[];
  synced: Promise<void>;
  failed: boolean;
}

/**
 * Directories this process makes for records, markers and locks, and the
 * fsync of the parents whose entries they changed. A new directory entry is
 * durable only once its parent is synced; a write into such a directory
 * waits for that before it is acknowledged, but not before its own work
 * starts, so the fsync overlaps the write's temp file and marker.
 */
export class NewDirs {
  readonly #pending = new Map<string, PendingDir>();

  constructor(
    private readonly io: Io,
    private readonly layout: Layout,
    private readonly durable: boolean,
    private readonly modeExact: boolean,
  ) {}

  /**
   * Create `dir` and its missing parents, and start (not await) the fsync of
   * every parent whose entries changed. Whoever writes into `dir` waits for
   * {@link synced} before acknowledging.
   */
  async make(dir: string): Promise<void> {
    const { records, subjects } = this.layout;
    const base = dir.startsWith(subjects + sep) ? subjects : records;
    const created = await ensureDir(this.io, dir, base, this.modeExact);
    if (!this.durable || created.length === 0) return;
    const pending: PendingDir = {
      parents: [...new Set(created.map((path) => dirname(path)))],
      synced: Promise.resolve(),
      failed: false,
    };
    this.#pending.set(dir, pending);
    this.#syncParents(dir, pending);
  }

  /** The pending fsync of `dir`'s new entries, restarted if an earlier attempt failed; `undefined` when durable. */
  synced(dir: string): Promise<void> | undefined {
    const pending = this.#pending.get(dir);
    if (pending?.failed) this.#syncParents(dir, pending);
    return pending?.synced;
  }

  #syncParents(dir: string, pending: PendingDir): void {
    pending.failed = false;
    const synced = settled(pending.parents.map((parent) => syncDir(this.io, parent)));
    pending.synced = synced;
    synced.then(
      () => {
        if (this.#pending.get(dir) === pending && pending.synced === synced)
          this.#pending.delete(dir);
      },
      // The writer waiting for it fails; the next writer into `dir` tries again.
      () => {
        if (pending.synced === synced) pending.failed = true;
      },
    );
  }
}

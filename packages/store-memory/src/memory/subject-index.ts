/**
 * subject index → ids of the records carrying it, kept exactly in step with
 * the records (the owner calls {@link SubjectIndex.add} and
 * {@link SubjectIndex.remove} on every write), so lookups never see ghosts.
 *
 * Most subjects hold one or two sessions, and an empty-ish `Set` costs about
 * 100 bytes, so a subject with a single record maps straight to its id
 * string; the `Set` appears only from the second record on.
 */
export class SubjectIndex {
  private readonly map = new Map<string, string | Set<string>>();

  add(subject: string, id: string): void {
    const current = this.map.get(subject);
    if (current === undefined) {
      this.map.set(subject, id);
    } else if (typeof current === 'string') {
      if (current !== id) this.map.set(subject, new Set([current, id]));
    } else {
      current.add(id);
    }
  }

  remove(subject: string, id: string): void {
    const current = this.map.get(subject);
    if (current === undefined) return;
    if (typeof current === 'string') {
      if (current === id) this.map.delete(subject);
      return;
    }
    current.delete(id);
    if (current.size === 1) {
      for (const only of current) this.map.set(subject, only);
    } else if (current.size === 0) {
      this.map.delete(subject);
    }
  }

  /** Some id carrying `subject`, or `undefined` when none does. O(1). */
  anyId(subject: string): string | undefined {
    const current = this.map.get(subject);
    if (current === undefined || typeof current === 'string') return current;
    for (const id of current) return id;
    return undefined;
  }

  /** A snapshot of the ids carrying `subject` (safe to mutate the index while walking it). */
  ids(subject: string): string[] {
    const current = this.map.get(subject);
    if (current === undefined) return [];
    if (typeof current === 'string') return [current];
    return [...current];
  }

  clear(): void {
    this.map.clear();
  }
}

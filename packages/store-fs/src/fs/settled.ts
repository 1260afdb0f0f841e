/**
 * Wait for every task, so none is left running unobserved, then throw the
 * first failure. Used to overlap independent writes (and their fsyncs).
 */
export async function settled(tasks: readonly (Promise<unknown> | undefined)[]): Promise<void> {
  for (const result of await Promise.allSettled(tasks)) {
    if (result.status === 'rejected') throw result.reason;
  }
}

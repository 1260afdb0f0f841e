import type { ConformanceCheck } from '@cloakroom/conformance';

/** The outcome of one check against one subject. */
export interface CheckRun {
  readonly id: string;
  readonly passed: boolean;
  readonly error?: unknown;
}

/** Runs every check that applies to `options`, one after another, and records each outcome. */
export async function runChecks<F, O>(
  checks: readonly ConformanceCheck<F, O>[],
  factory: F,
  options: O,
): Promise<CheckRun[]> {
  const runs: CheckRun[] = [];
  for (const check of checks) {
    if (check.appliesTo && !check.appliesTo(options)) continue;
    try {
      await check.run(factory, options);
      runs.push({ id: check.id, passed: true });
    } catch (error) {
      runs.push({ id: check.id, passed: false, error });
    }
  }
  return runs;
}

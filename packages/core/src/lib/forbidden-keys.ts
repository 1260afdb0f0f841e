// Member names that change an object's prototype or shadow its constructor
// when a careless consumer copies claims (`Object.assign`, spread into a
// class instance, lodash merge). JSON.parse makes `"__proto__"` an own data
// property, so it survives signing and sealing and reaches the app: refuse
// these names at every entry point, at any depth.
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * What makes `value` unacceptable: `a member named "__proto__"` (or
 * `constructor`, `prototype`) at any depth, or `nesting deeper than 32
 * levels` (which could hide one); `undefined` when it is fine. Reads own
 * enumerable keys only. Callers write "… must not contain <that>".
 */
export function forbiddenKeyIn(value: unknown, maxDepth = 32): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (maxDepth < 0) return 'nesting deeper than 32 levels';
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = forbiddenKeyIn(item, maxDepth - 1);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  for (const name of Object.keys(value)) {
    if (FORBIDDEN.has(name)) return `a member named "${name}"`;
    const found = forbiddenKeyIn((value as Record<string, unknown>)[name], maxDepth - 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

import { defineConfig } from 'tsup';
import { base } from '../../tsup.base';

// Two entries: the Node one, and `./web` with no Node built-in (checked by
// scripts/check-web-bundle.mjs, which bundles it for the browser platform).
// The declarations reference Node's types: they name KeyObject and node:crypto,
// and TypeScript 6+ loads no @types package a consumer did not list, so
// without the reference a consumer gets TS2591 (scripts/check-published-types.mjs).
export default defineConfig({
  ...base,
  entry: ['src/index.ts', 'src/web.ts'],
  dts: { banner: '/// <reference types="node" />' },
});

#!/usr/bin/env node
// Runs the TypeScript CLI directly, compiled as each file loads (bin/ts-hooks.js says why
// that is not tsx's loader here).
import { register } from 'node:module';

process.setSourceMapsEnabled(true);
register('./ts-hooks.js', import.meta.url);
await import('../src/cli/main.ts');

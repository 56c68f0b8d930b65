#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader (the project runs TS directly, see README).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');

#!/usr/bin/env node
// seglog entry point: runs the compiled commands in dist/, found through
// oclif.manifest.json (written by `npm run build`).
//
// Under NODE_ENV=development or test, oclif would look for src/*.ts and try to register
// a TypeScript loader, which this package does not ship: an inherited NODE_ENV (a test
// runner spawning the CLI, a developer's shell) would make the installed binary warn
// or load the wrong files. Auto-transpiling is switched off: the CLI is always dist/.
import { execute, settings } from '@oclif/core';

settings.enableAutoTranspile = false;
await execute({ dir: import.meta.url });

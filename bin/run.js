#!/usr/bin/env node
// seglog entry point: runs the compiled commands in dist/ (found through
// oclif.manifest.json, written by `npm run build`).
//
// oclif loads src/*.ts instead of dist/ when NODE_ENV is "development" or "test", and
// this package ships no TypeScript loader, so an inherited NODE_ENV (a test runner
// spawning the CLI, a developer's shell) would break the installed binary. The CLI is
// always the built one.
import { execute } from '@oclif/core';

process.env.NODE_ENV = 'production';
await execute({ dir: import.meta.url });

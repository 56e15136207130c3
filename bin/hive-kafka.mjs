#!/usr/bin/env node
// Runs the CLI from a build of its TypeScript sources made when they change (bin/build.mjs), so
// the package needs no build step and a start pays no TypeScript loader.
import { prebuilt } from './build.mjs';

// Stack traces name the TypeScript sources and their lines, not the build's chunks.
process.setSourceMapsEnabled(true);
await import((await prebuilt()).main.href);

#!/usr/bin/env bun
// `npx kbin …` from a checkout: runs the CLI from source on Bun (installed by `npm install`).
import "../src/runtime/bun/main.ts";

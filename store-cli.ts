#!/usr/bin/env node
/**
 * The store CLI: `node dist/store-cli.js <push|pull|diff> [--config PATH] [FILE] [--reset]`
 * (docs/store-cli.md). Only argv in and output out; the commands are in lib/store/cli.ts.
 * Exit codes: 0 done (diff: the same), 1 diff: different, 2 an error.
 */
import { runCli } from './lib/store/cli.js'

const r = await runCli(process.argv.slice(2), process.env, process.cwd())
process.stdout.write(r.stdout)
process.stderr.write(r.stderr)
process.exitCode = r.code

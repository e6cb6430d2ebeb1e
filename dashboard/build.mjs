// `node dashboard/build.mjs OUT`: the dashboard's browser script, compiled by tsc from
// dashboard/app.ts (its own tsconfig: DOM types, no Node), and its HTML and CSS, into
// OUT/dashboard/, beside the compiled routes that serve them (routes/dashboard.ts). Run by
// `npm run build` (OUT = dist) and `npm run build:test` (OUT = .test-build).
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'

const out = join(process.argv[2] ?? 'dist', 'dashboard')
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
execFileSync(process.execPath, [tsc, '-p', 'dashboard/tsconfig.json', '--outDir', out], { stdio: 'inherit' })
mkdirSync(out, { recursive: true })
for (const f of ['index.html', 'app.css']) copyFileSync(join('dashboard', f), join(out, f))

// The defaults in docs/configuration.md's key tables are the code's. Each row's default is
// parsed (a duration or size in its units, anything else as YAML) and compared with the section's
// DEFAULTS constant; a row that gives no literal default ("none", "— required") must have none
// in code; and every default in the constants must have a row. So neither side can drift.
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { load } from 'js-yaml'
import { parseDuration, parseSize } from '../lib/config/duration.js'
import { DEFAULTS_CONSTANTS, isMapping, leafPaths, SECTIONS, valueAt } from './helpers/config-sections.js'
import { repoPath } from './helpers/paths.js'

interface Row { keys: string[], type: string, cell: string, line: number }

/** Every `| key | type | default | notes |` table, under the first code span of its heading. */
function docTables (text: string): Map<string, Row[]> {
  const tables = new Map<string, Row[]>()
  let heading: string | undefined
  let rows: Row[] | undefined
  text.split('\n').forEach((line, i) => {
    if (line.startsWith('#')) heading = /`([^`]+)`/.exec(line)?.[1] ?? line
    if (/^\| key \| type \| default \| notes \|/.test(line)) {
      if (heading === undefined || tables.has(heading)) throw new Error(`docs/configuration.md:${i + 1}: a table needs a heading of its own`)
      rows = []
      tables.set(heading, rows)
      return
    }
    if (rows === undefined || /^\|[-|]+\|$/.test(line)) return
    if (!line.startsWith('|')) { rows = undefined; return }
    const [key, type, cell] = line.slice(1).split(' | ').map((c) => c.trim())
    rows.push({ keys: [...key.matchAll(/`([^`]+)`/g)].map((m) => m[1]), type, cell, line: i + 1 })
  })
  return tables
}

/** A default cell that is one code span, optionally followed by a note in parentheses. */
const LITERAL = /^`([^`]+)`(?: \([^)]*\))?$/

function parseDefault (type: string, text: string): unknown {
  const v = load(text)
  if (type.startsWith('duration')) return parseDuration(v as string | number)
  if (type.startsWith('size')) return parseSize(v as string | number)
  return v
}

const tables = docTables(readFileSync(repoPath('docs/configuration.md'), 'utf8'))

t.test('every documented default is the one in code', async (t) => {
  for (const { docs, defaults } of SECTIONS) {
    const rows = tables.get(docs)
    if (rows === undefined) { t.fail(`docs/configuration.md has no key table under a heading \`${docs}\``); continue }
    let previous: unknown
    for (const { keys, type, cell, line } of rows) {
      const literal = LITERAL.exec(cell)
      for (const key of keys) {
        const inCode = valueAt(defaults, key)
        const where = `docs/configuration.md:${line} ${docs} ${key}`
        if (cell === 'same') t.same(inCode, previous, `${where}: default "same" as the row above`)
        else if (literal !== null) t.same(inCode, parseDefault(type, literal[1]), `${where}: documented default ${cell}`)
        else t.ok(inCode === undefined || isMapping(inCode), `${where}: "${cell}" gives no default, so the code has none`, { found: inCode })
        if (literal !== null) previous = inCode
      }
    }
  }
})

t.test('every default in code has a row in the docs', async (t) => {
  for (const { docs, defaults } of SECTIONS) {
    const documented = new Set((tables.get(docs) ?? []).filter((r) => LITERAL.test(r.cell) || r.cell === 'same').flatMap((r) => r.keys))
    for (const path of leafPaths(defaults)) {
      t.ok(documented.has(path), `${docs} ${path}: the default ${JSON.stringify(valueAt(defaults, path))} is not in docs/configuration.md`)
    }
  }
})

t.test('every key table in the docs is checked', async (t) => {
  const known = new Set(SECTIONS.map((s) => s.docs))
  for (const heading of tables.keys()) t.ok(known.has(heading), `the table under \`${heading}\` has no entry in test/helpers/config-sections.ts`)
})

t.test('every section defaults constant is covered', async (t) => {
  // The sections are the .ts sources; each is imported by its .js name beside this test: the
  // compiled module when tap runs .test-build/, the source under a TypeScript loader.
  for (const file of readdirSync(repoPath('lib/config/sections')).filter((f) => f.endsWith('.ts'))) {
    const mod = await import(new URL(`../lib/config/sections/${file.replace(/\.ts$/, '.js')}`, import.meta.url).href) as Record<string, unknown>
    for (const [name, value] of Object.entries(mod)) {
      if (!name.endsWith('_DEFAULTS')) continue
      t.equal(DEFAULTS_CONSTANTS[name], value, `${file}: ${name} is listed in test/helpers/config-sections.ts (add it to a SECTIONS entry too)`)
    }
  }
})

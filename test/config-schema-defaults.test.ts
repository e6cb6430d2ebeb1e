// The root schema's `default:` annotations (documentation for schema readers; the normalisers
// apply the defaults) are the DEFAULTS constants' values: each annotation equals the constant
// at its key path, and every default in the constants is annotated. Together with the sections
// reading both from one constant, a default can only be set in one place.
import t from 'tap'
import type { TSchema } from '@sinclair/typebox'
import { ConfigSchema } from '../lib/config/schema.js'
import { leafPaths, SECTIONS, valueAt } from './helpers/config-sections.js'

/** Key path (`*` for a record key or list item) to the `default` annotated there. */
function annotations (s: TSchema, path: string[], out: Map<string, unknown>): Map<string, unknown> {
  if ('default' in s) out.set(path.join('.'), s.default)
  // A by-shape union (`listen`: a mapping or a list of the same mappings) is walked once, as the mapping.
  if (Array.isArray(s.anyOf)) for (const m of s.anyOf as TSchema[]) if (s.byShape !== true || m.type !== 'array') annotations(m, path, out)
  if (s.type === 'array') annotations(s.items as TSchema, [...path, '*'], out)
  for (const [k, child] of Object.entries((s.properties ?? {}) as Record<string, TSchema>)) annotations(child, [...path, k], out)
  for (const child of Object.values((s.patternProperties ?? {}) as Record<string, TSchema>)) annotations(child, [...path, '*'], out)
  return out
}

/** The section owning a key path (the longest schema prefix), and the key below it. */
function owner (path: string): { section: typeof SECTIONS[number], key: string } | undefined {
  const found = SECTIONS.filter((s) => path.startsWith(`${s.schema}.`)).sort((a, b) => b.schema.length - a.schema.length)[0]
  return found === undefined ? undefined : { section: found, key: path.slice(found.schema.length + 1) }
}

const annotated = annotations(ConfigSchema, [], new Map())

t.test('every schema default is the constant\'s value', async (t) => {
  t.ok(annotated.size > 50, 'the walk finds the annotations')
  for (const [path, value] of annotated) {
    const o = owner(path)
    if (o === undefined) { t.fail(`${path}: annotated default ${JSON.stringify(value)} outside every section in test/helpers/config-sections.ts`); continue }
    t.same(value, valueAt(o.section.defaults, o.key), `${path}: default ${JSON.stringify(value)}`)
  }
})

t.test('every default in the constants is annotated in the schema', async (t) => {
  for (const { schema, defaults } of SECTIONS) {
    for (const key of leafPaths(defaults)) t.ok(annotated.has(`${schema}.${key}`), `${schema}.${key} has a default: annotation`)
  }
})

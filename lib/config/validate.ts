/**
 * Runs the root TypeBox schema (schema.ts) and turns its errors into ConfigIssues with our path
 * format and readable messages (the wording is check.ts's), and coerces whole-string environment
 * substitutions to the type the schema expects at their path.
 */

import type { TSchema } from '@sinclair/typebox'
import { configChecker, schemaAt } from './schema.js'
import { ValueErrorType } from '@sinclair/typebox/errors'
import { Value } from '@sinclair/typebox/value'
import { messageFor, pointerToSegments } from './check.js'
import { renderPath, type IssueList, type Segments } from './issues.js'
import type { Substitution } from './env.js'

// The schema-agnostic half lives in check.ts (sections import it from there); these names stay
// exported here, where lib/config/modules.ts and others have always imported them.
export { checkAgainst, closest, describeValue } from './check.js'

/** Reports every schema error in `value` (first one per path). */
export function checkSchema (value: unknown, issues: IssueList): void {
  for (const e of configChecker.Errors(value)) {
    const segs = pointerToSegments(value, e.path)
    const member = e.type === ValueErrorType.Union ? memberFor(e.schema, e.value) : undefined
    // A value of a by-shape union (`listen`: a mapping or a list of them) is reported against the
    // member of its shape: "unknown key; did you mean port?", not "expected X".
    if (member === undefined) {
      issues.add(segs, messageFor(e, segs))
      continue
    }
    for (const inner of Value.Errors(member, e.value)) {
      const at = [...segs, ...pointerToSegments(e.value, inner.path)]
      issues.add(at, messageFor(inner, at))
    }
  }
}

/**
 * For a union marked `byShape` (schema-parts.ts ByShape): its one member with the value's shape
 * (a list, or a mapping), if exactly one has it. Other unions keep their own wording.
 */
function memberFor (union: TSchema, value: unknown): TSchema | undefined {
  if (union.byShape !== true || value === null || typeof value !== 'object') return undefined
  const type = Array.isArray(value) ? 'array' : 'object'
  const members = ((union.anyOf ?? []) as TSchema[]).filter((m) => m.type === type)
  return members.length === 1 ? members[0] : undefined
}

/**
 * A scalar that was entirely one substitution takes the schema's type: "8080" becomes 8080 for
 * an integer field, "false" becomes false for a boolean. Values that do not convert stay strings
 * and the schema check reports them; the issue then names the substitution (via issues.notes).
 */
export function coerceSubstitutions (root: unknown, substituted: readonly Substitution[], issues: IssueList): void {
  for (const { segs, text, whole } of substituted) {
    issues.notes.set(renderPath(segs), `(value from ${JSON.stringify(text)})`)
    if (!whole) continue
    const schema = schemaAt(segs)
    const parent = getAt(root, segs.slice(0, -1))
    const key = segs[segs.length - 1]
    if (schema === undefined || parent === null || typeof parent !== 'object' || key === undefined) continue
    const holder = parent as Record<string | number, unknown>
    const v = holder[key]
    if (typeof v === 'string') holder[key] = coerce(schema, v)
  }
}

const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)(e[+-]?\d+)?$/i

function coerce (schema: TSchema, v: string): unknown {
  const t = v.trim()
  if ((schema.type === 'integer' || schema.type === 'number') && NUMERIC.test(t)) return Number(t)
  if (schema.type === 'boolean' && /^(true|false)$/i.test(t)) return t.toLowerCase() === 'true'
  return v
}

function getAt (root: unknown, segs: Segments): unknown {
  let node = root
  for (const s of segs) {
    if (node === null || typeof node !== 'object') return undefined
    node = (node as Record<string | number, unknown>)[s]
  }
  return node
}

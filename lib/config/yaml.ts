/**
 * YAML parsing with source lines. js-yaml 5 has no position listener on `load`, but it exposes
 * the two halves of `load`: `parseEvents` (a flat event stream with source offsets) and
 * `constructFromEvents`. We parse once, build the value from the events, and walk the same
 * events to map each field path to the line of its key (or of its list item).
 *
 * Schema: js-yaml's default CORE_SCHEMA (YAML 1.2): `yes`/`on` are strings, not booleans, and
 * merge keys (`<<`) are not enabled. Anchors and aliases work.
 */

import { parseEvents, constructFromEvents, getScalarValue, EVENT_ID, YAMLException } from 'js-yaml'
import type { Event } from 'js-yaml'
import { renderPath, type ConfigIssue, type Segments } from './issues.js'

export interface ParsedYaml {
  /** The document, or undefined for an empty file (only comments or nothing). */
  value: unknown
  /** Line of a path, falling back to its nearest ancestor below the root that has one. */
  lineOf: (segs: Segments) => number | undefined
}

/** Thrown for text that is not one valid YAML document; carries a single issue at path "". */
export class YamlSyntaxError extends Error {
  constructor (readonly issue: ConfigIssue) {
    super(issue.message)
  }
}

export function parseYaml (text: string): ParsedYaml {
  let events: Event[]
  let docs: unknown[]
  try {
    events = parseEvents(text, {})
    docs = constructFromEvents(events, { source: text })
  } catch (err) {
    throw new YamlSyntaxError(syntaxIssue(err))
  }
  if (docs.length > 1) {
    throw new YamlSyntaxError({ path: '', message: `YAML has ${docs.length} documents (separated by ---); the config must be a single document` })
  }
  const lines = mapLines(text, events)
  return {
    value: docs[0],
    lineOf (segs) {
      for (let n = segs.length; n >= 1; n--) {
        const line = lines.get(renderPath(segs.slice(0, n)))
        if (line !== undefined) return line
      }
      return undefined
    }
  }
}

function syntaxIssue (err: unknown): ConfigIssue {
  if (err instanceof YAMLException) {
    const issue: ConfigIssue = { path: '', message: `YAML syntax error: ${err.reason}` }
    if (err.mark !== undefined) {
      issue.line = err.mark.line + 1
      issue.message += ` (column ${err.mark.column + 1})`
    }
    return issue
  }
  return { path: '', message: `YAML could not be parsed: ${err instanceof Error ? err.message : String(err)}` }
}

interface Frame {
  kind: 'map' | 'seq' | 'doc'
  path: Array<string | number>
  /** Mappings: the key whose value comes next, or null when a key comes next. */
  key: string | null
  /** Sequences: index of the next item. */
  index: number
}

/** Path string -> 1-based line, for every key and list item in the document. */
function mapLines (text: string, events: Event[]): Map<string, number> {
  const starts = lineStarts(text)
  const lineAt = (offset: number): number => {
    let lo = 0
    let hi = starts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (starts[mid] <= offset) lo = mid
      else hi = mid - 1
    }
    return lo + 1
  }
  const lines = new Map<string, number>()
  const stack: Frame[] = []
  for (const ev of events) {
    if (ev.type === EVENT_ID.POP) { stack.pop(); continue }
    if (ev.type === EVENT_ID.DOCUMENT) { stack.push({ kind: 'doc', path: [], key: null, index: 0 }); continue }
    const top = stack[stack.length - 1]
    const offset = ev.type === EVENT_ID.SCALAR ? ev.valueStart : ev.type === EVENT_ID.ALIAS ? ev.anchorStart : ev.start
    let path: Array<string | number>
    if (top.kind === 'map' && top.key === null) {
      // A key. Complex (non-scalar) keys are rejected by the constructor before we get here.
      top.key = ev.type === EVENT_ID.SCALAR ? getScalarValue(text, ev) : '?'
      lines.set(renderPath([...top.path, top.key]), lineAt(offset))
      if (ev.type === EVENT_ID.MAPPING || ev.type === EVENT_ID.SEQUENCE) stack.push({ kind: ev.type === EVENT_ID.MAPPING ? 'map' : 'seq', path: [...top.path, '?'], key: null, index: 0 })
      continue
    } else if (top.kind === 'map') {
      path = [...top.path, top.key as string]
      top.key = null
    } else if (top.kind === 'seq') {
      path = [...top.path, top.index++]
      lines.set(renderPath(path), lineAt(offset))
    } else {
      path = [] // the root has no line of its own: a missing top-level key gets none
    }
    if (ev.type === EVENT_ID.MAPPING) stack.push({ kind: 'map', path, key: null, index: 0 })
    else if (ev.type === EVENT_ID.SEQUENCE) stack.push({ kind: 'seq', path, key: null, index: 0 })
  }
  return lines
}

function lineStarts (text: string): number[] {
  const starts = [0]
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1)
  return starts
}

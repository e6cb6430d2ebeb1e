/**
 * Config issues and the error that carries them. Every stage of the loader (YAML, environment
 * substitution, schema, semantic checks) reports into one IssueList so the user sees all
 * problems at once, each with its field path and, when known, its YAML line.
 */

import { GatewayError } from '../errors.js'

export interface ConfigIssue {
  /** Field path like `pools.web.backends[1].url`; "" for the file as a whole. */
  path: string
  message: string
  /** 1-based YAML line, when known. */
  line?: number
}

/** A path as segments: strings are mapping keys, numbers are list indexes. */
export type Segments = ReadonlyArray<string | number>

const PLAIN_KEY = /^[^.[\]\s"]+$/

/** `['pools', 'web', 'backends', 1, 'url']` -> `pools.web.backends[1].url`; odd keys are quoted. */
export function renderPath (segs: Segments): string {
  let out = ''
  for (const s of segs) {
    if (typeof s === 'number') out += `[${s}]`
    else if (PLAIN_KEY.test(s)) out += out === '' ? s : `.${s}`
    else out += `[${JSON.stringify(s)}]`
  }
  return out
}

/**
 * The GW_CONFIG_INVALID error. `issues` is the machine-readable list; the message lists every
 * issue on its own line as `path: message (line N)`, so printing `err.message` at startup is
 * enough. Being a GatewayError, an admin endpoint can send it as a 400 with `toBody()`.
 */
export class ConfigError extends GatewayError {
  override readonly code = 'GW_CONFIG_INVALID' as const
  readonly issues: ConfigIssue[]

  constructor (issues: ConfigIssue[], source?: string) {
    super('GW_CONFIG_INVALID', [summary(issues, source)])
    this.name = 'ConfigError'
    this.issues = issues
  }
}

function summary (issues: ConfigIssue[], source: string | undefined): string {
  const head = `${source ?? 'config'} has ${issues.length} ${issues.length === 1 ? 'issue' : 'issues'}`
  return [head, ...issues.map(formatIssue)].join('\n')
}

export function formatIssue (i: ConfigIssue): string {
  const where = i.line === undefined ? '' : ` (line ${i.line})`
  return i.path === '' ? `${i.message}${where}` : `${i.path}: ${i.message}${where}`
}

/**
 * Collects issues. Only the first issue per path is kept: a later stage tripping over a value
 * an earlier stage already rejected would only repeat it. `lineOf` maps a path to its YAML line.
 */
export class IssueList {
  private readonly byPath = new Map<string, ConfigIssue>()
  /** Extra text appended to issues at a path, e.g. which substitution produced the value. */
  readonly notes = new Map<string, string>()

  constructor (private readonly lineOf: (segs: Segments) => number | undefined = () => undefined) {}

  add (segs: Segments, message: string): void {
    const path = renderPath(segs)
    if (this.byPath.has(path)) return
    const note = this.notes.get(path)
    const issue: ConfigIssue = { path, message: note === undefined ? message : `${message} ${note}` }
    const line = this.lineOf(segs)
    if (line !== undefined) issue.line = line
    this.byPath.set(path, issue)
  }

  has (segs: Segments): boolean {
    return this.byPath.has(renderPath(segs))
  }

  get size (): number {
    return this.byPath.size
  }

  /** Issues in document order (by line, stable); those without a line come last. */
  list (): ConfigIssue[] {
    const key = (i: ConfigIssue): number => i.line ?? Number.MAX_SAFE_INTEGER
    return [...this.byPath.values()].sort((a, b) => key(a) - key(b))
  }
}

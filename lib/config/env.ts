/**
 * Environment substitution in string values, applied after YAML parsing so an environment value
 * can never inject YAML structure. Forms:
 *   ${NAME}          the variable; an issue if it is unset (set-but-empty gives "")
 *   ${NAME:-default} the variable, or `default` when it is unset or empty (as in sh)
 *   $${              a literal "${"
 * Defaults are literal text (no nested substitution). Mapping keys are never substituted.
 */

import type { IssueList, Segments } from './issues.js'

const NAME_AND_DEFAULT = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/

export interface Substitution {
  segs: Segments
  text: string
  whole: boolean
}

export interface SubstitutionResult {
  value: unknown
  /**
   * Every substituted string: its path, its original text, and whether the whole string was one
   * substitution. The loader coerces whole ones to the schema's type, so `port: ${PORT:-8080}`
   * becomes the number 8080, and names the original text in any issue at that path.
   */
  substituted: Substitution[]
}

/** Returns a substituted copy of `value`; problems go to `issues` at the field's path. */
export function substituteEnv (value: unknown, env: NodeJS.ProcessEnv, issues: IssueList): SubstitutionResult {
  const substituted: Substitution[] = []
  const walk = (v: unknown, segs: Array<string | number>): unknown => {
    if (typeof v === 'string') {
      if (!v.includes('${')) return v
      const out = substituteString(v, env, (msg) => issues.add(segs, msg))
      substituted.push({ segs, text: v, whole: isWholeSubstitution(v) })
      return out
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...segs, i]))
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {}
      for (const [k, child] of Object.entries(v)) {
        Object.defineProperty(out, k, { value: walk(child, [...segs, k]), enumerable: true, writable: true, configurable: true })
      }
      return out
    }
    return v
  }
  return { value: walk(value, []), substituted }
}

/** True when the string is exactly one `${...}` (not `$${...}`) and nothing else. */
function isWholeSubstitution (s: string): boolean {
  return s.startsWith('${') && s.indexOf('}') === s.length - 1
}

/**
 * Substitutes one string. `report` receives a message per problem; the problem's text is
 * replaced by "" so later stages see a string and the issue is reported once.
 */
export function substituteString (s: string, env: NodeJS.ProcessEnv, report: (message: string) => void): string {
  let out = ''
  let i = 0
  while (i < s.length) {
    const dollar = s.indexOf('$', i)
    if (dollar === -1) { out += s.slice(i); break }
    out += s.slice(i, dollar)
    if (s.startsWith('$${', dollar)) { out += '${'; i = dollar + 3; continue }
    if (s[dollar + 1] !== '{') { out += '$'; i = dollar + 1; continue }
    const close = s.indexOf('}', dollar + 2)
    if (close === -1) {
      report(`unclosed "\${" in ${JSON.stringify(s)}; write "$\${" for a literal "\${"`)
      break
    }
    const body = s.slice(dollar + 2, close)
    i = close + 1
    const m = NAME_AND_DEFAULT.exec(body)
    if (m === null) {
      report(`malformed substitution "\${${body}}": use \${NAME} or \${NAME:-default}, where NAME is letters, digits and _`)
      continue
    }
    const name = m[1]
    const fallback = m[2]
    const set = env[name]
    if (fallback !== undefined) out += set === undefined || set === '' ? fallback : set
    else if (set !== undefined) out += set
    else report(`environment variable ${name} is not set; set it, or give a default with \${${name}:-default}`)
  }
  return out
}

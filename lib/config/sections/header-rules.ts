/**
 * A route's `headers`: rules that set (add or replace) and remove headers on the forwarded
 * request and on the answer. Names are lower-cased; hop-by-hop and framing headers belong to the
 * gateway and cannot be set.
 */
import { Type } from '@sinclair/typebox'
import { isObj, section, type Ctx, type Obj } from '../fields.js'
import { closed, HeaderName } from '../schema-parts.js'

const HeaderRulesSchema = Type.Object({
  set: Type.Optional(Type.Record(Type.String(), Type.String())),
  remove: Type.Optional(Type.Array(HeaderName))
}, closed)

export const RouteHeadersSchema = Type.Object({
  request: Type.Optional(HeaderRulesSchema),
  response: Type.Optional(HeaderRulesSchema)
}, closed)

export interface HeaderRules {
  /** Lower-case name to value: replaces any header of that name. */
  set: Record<string, string>
  /** Lower-case names to remove. */
  remove: string[]
}

/** Header names lower-cased; hop-by-hop and framing headers cannot be set (they are the gateway's). */
const RESERVED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host', 'upgrade', 'te', 'trailer'])

/** Both sides, each with empty rules when left out. */
export function normaliseHeaderRules (ctx: Ctx, h: Obj, segs: Array<string | number>): { request: HeaderRules, response: HeaderRules } {
  const side = (key: string): HeaderRules => {
    const o = section(h, key)
    const set: Record<string, string> = {}
    if (isObj(o.set)) {
      for (const [name, value] of Object.entries(o.set)) {
        const lk = name.toLowerCase()
        if (RESERVED.has(lk)) ctx.issues.add([...segs, key, 'set', name], `${lk} is managed by the gateway and cannot be set`)
        else if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(lk)) ctx.issues.add([...segs, key, 'set', name], 'not a valid header name')
        else if (typeof value === 'string' && /[\r\n\0]/.test(value)) ctx.issues.add([...segs, key, 'set', name], 'a header value cannot contain CR, LF or NUL')
        else if (typeof value === 'string') set[lk] = value
      }
    }
    const remove = Array.isArray(o.remove) ? (o.remove as string[]).map((n) => n.toLowerCase()) : []
    return { set, remove }
  }
  return { request: side('request'), response: side('response') }
}

/**
 * A pool's `backends`: URL normalisation (origin plus base path), default ids ("host:port") and
 * duplicate ids. parseBackendUrl is also what the admin API uses for backends added at run time
 * (via lib/config/pools.ts).
 */
import { Type } from '@sinclair/typebox'
import { bool, int, isObj, type Ctx } from '../fields.js'
import { Bool, closed, Name } from '../schema-parts.js'

export const BACKEND_DEFAULTS = Object.freeze({ weight: 1, enabled: true, drain: false })

export const BackendSchema = Type.Object({
  url: Name(),
  weight: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000, default: BACKEND_DEFAULTS.weight })),
  id: Type.Optional(Name()),
  enabled: Type.Optional(Bool(BACKEND_DEFAULTS.enabled)),
  drain: Type.Optional(Bool(BACKEND_DEFAULTS.drain))
}, closed)

export const BackendsSchema = Type.Array(BackendSchema, { minItems: 1, minMessage: 'must list at least one backend' })

export interface BackendConfig {
  /** Stable id, unique within its pool; defaults to "host:port" of the url. */
  id: string
  /** Normalised origin plus optional base path, e.g. "http://127.0.0.1:9001" or "https://api:8443/base". */
  url: string
  weight: number
  /** false: takes no new requests (the admin API's disable, kept by the config store). */
  enabled: boolean
  /** true: draining, takes no new requests (the admin API's drain, kept by the config store). */
  drain: boolean
}

/** Backends with a bad url or a duplicate id are reported and left out. */
export function normaliseBackends (ctx: Ctx, raw: unknown, segs: string[]): BackendConfig[] {
  if (!Array.isArray(raw)) return []
  const out: BackendConfig[] = []
  const seen = new Map<string, number>()
  raw.forEach((b: unknown, i) => {
    if (!isObj(b) || typeof b.url !== 'string') return
    const at = [...segs, i]
    const parsed = parseBackendUrl(b.url)
    if (typeof parsed === 'string') {
      ctx.issues.add([...at, 'url'], parsed)
      return
    }
    const explicit = typeof b.id === 'string'
    const id = explicit ? b.id as string : parsed.id
    const first = seen.get(id)
    if (first !== undefined) {
      // Reported at the second one: its id if given, else its url (where the id came from).
      ctx.issues.add([...at, explicit ? 'id' : 'url'],
        `duplicate backend id "${id}" (backends[${first}] has it too); give each backend a distinct id`)
      return
    }
    seen.set(id, i)
    out.push({ id, url: parsed.url, weight: int(b, 'weight', BACKEND_DEFAULTS.weight), enabled: bool(b, 'enabled', BACKEND_DEFAULTS.enabled), drain: bool(b, 'drain', BACKEND_DEFAULTS.drain) })
  })
  return out
}

/**
 * Normalises a backend URL to origin plus base path without a trailing slash ("/" becomes "").
 * The default id is "host:port" with the port always explicit (80/443 for the defaults).
 * Returns an error message for URLs the gateway cannot use.
 */
export function parseBackendUrl (raw: string): { url: string, id: string } | string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) return `"${raw}" has no scheme; start it with http:// or https:// (e.g. http://host:port), or tcp:// for a layer-4 pool`
  let u: URL
  try {
    u = new URL(raw)
  } catch {
    return `"${raw}" is not a valid URL; write it as http://host:port`
  }
  if (u.protocol === 'tcp:') return parseTcpUrl(raw, u)
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    return `scheme "${u.protocol.slice(0, -1)}" is not supported; use http:// or https:// (e.g. http://host:port), or tcp://host:port`
  }
  if (u.username !== '' || u.password !== '') return 'must not contain credentials (user:password@)'
  if (u.search !== '' || u.hash !== '' || raw.includes('?') || raw.includes('#')) {
    return 'must not have a query (?...) or fragment (#...): only scheme, host, port and an optional base path'
  }
  const port = u.port !== '' ? u.port : u.protocol === 'https:' ? '443' : '80'
  return { url: u.origin + u.pathname.replace(/\/+$/, ''), id: `${u.hostname}:${port}` }
}

/** tcp://host:port: a port is required and nothing may follow it. */
function parseTcpUrl (raw: string, u: URL): { url: string, id: string } | string {
  if (u.port === '') return `"${raw}" needs a port: tcp://host:port`
  if (u.username !== '' || u.password !== '' || (u.pathname !== '' && u.pathname !== '/') || u.search !== '' || u.hash !== '') {
    return `"${raw}" must be just tcp://host:port`
  }
  return { url: `tcp://${u.host}`, id: `${u.hostname}:${u.port}` }
}

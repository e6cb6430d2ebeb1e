import type { SecureContext } from 'node:tls'

/**
 * SNI selection over a listener's certificates, built once per (re)load: exact names first,
 * then a `*.example.com` wildcard for one label (RFC 6125 section 6.4.3: `a.example.com`, not
 * `a.b.example.com` or `example.com`), else the default (the first certificate). Lookups are
 * two map reads; nothing is parsed per handshake. Pure: no I/O.
 */
export class SniTable<T> {
  private readonly exact = new Map<string, T>()
  private readonly wildcard = new Map<string, T>()

  /** `entries` in config order; a name listed twice keeps its first certificate. */
  constructor (entries: ReadonlyArray<{ names: readonly string[], value: T }>, readonly fallback: T) {
    for (const { names, value } of entries) {
      for (const raw of names) {
        const name = raw.toLowerCase()
        if (name.startsWith('*.')) {
          if (!this.wildcard.has(name.slice(2))) this.wildcard.set(name.slice(2), value)
        } else if (!this.exact.has(name)) {
          this.exact.set(name, value)
        }
      }
    }
  }

  /** The certificate for a client's server name (any case, maybe with a trailing dot), or the default. */
  lookup (servername: string | undefined): T {
    if (servername === undefined || servername === '') return this.fallback
    let name = servername.toLowerCase()
    if (name.endsWith('.')) name = name.slice(0, -1)
    const hit = this.exact.get(name)
    if (hit !== undefined) return hit
    const dot = name.indexOf('.')
    if (dot > 0) {
      const wild = this.wildcard.get(name.slice(dot + 1))
      if (wild !== undefined) return wild
    }
    return this.fallback
  }
}

export type SniContexts = SniTable<SecureContext>

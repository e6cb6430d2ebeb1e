import type { IncomingMessage } from 'node:http'
import type { KeySource } from '../../algorithms/types.js'

/**
 * The request key a pool's algorithm asked for (consistent hashing, sticky sessions), read from
 * the raw request once per request. Undefined when the request has no such value.
 *
 * `ip` is the peer address, or with listen.trustProxy the first X-Forwarded-For entry (the
 * original client as the trusted proxy in front saw it).
 */
export function requestKey (src: KeySource, req: IncomingMessage, url: string, xff: string): string | undefined {
  switch (src.from) {
    case 'ip': {
      if (xff !== '') {
        const comma = xff.indexOf(',')
        return (comma === -1 ? xff : xff.slice(0, comma)).trim()
      }
      return req.socket.remoteAddress
    }
    case 'path': {
      const q = url.indexOf('?')
      return q === -1 ? url : url.slice(0, q)
    }
    case 'header':
      return rawHeader(req.rawHeaders, src.name)
    case 'cookie':
      return cookie(req.rawHeaders, src.name)
  }
}

/** First value of a header (lower-case `name`) in a raw header list. */
function rawHeader (raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!
    if (k.length === name.length && k.toLowerCase() === name) return raw[i + 1]
  }
  return undefined
}

/** A cookie's value from every Cookie header (RFC 6265 §5.4: pairs separated by "; "). */
function cookie (raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]!
    if (k.length !== 6 || k.toLowerCase() !== 'cookie') continue
    for (const pair of raw[i + 1]!.split(';')) {
      const eq = pair.indexOf('=')
      if (eq !== -1 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim()
    }
  }
  return undefined
}

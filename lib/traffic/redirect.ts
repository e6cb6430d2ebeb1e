import type { IncomingMessage, ServerResponse } from 'node:http'

/**
 * `redirect: https`: every request gets a 308 (method and body kept, RFC 9110 section 15.4.9)
 * to the same host and path on the first TLS listener; nothing is proxied. `port()` gives that
 * listener's port now (it may have been bound to port 0, or moved by a reload); 443 is left out
 * of the Location.
 */
export function redirectHandler (port: () => number): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const p = port()
    const location = `https://${hostOnly(req.headers.host ?? '')}${p === 443 ? '' : `:${p}`}${req.url ?? '/'}`
    res.writeHead(308, { location, 'content-length': '0' })
    res.end()
  }
}

/** The Host header without its port; an IPv6 literal keeps its brackets. */
function hostOnly (host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']')
    return end > 0 ? host.slice(0, end + 1) : host
  }
  const colon = host.indexOf(':')
  return colon >= 0 ? host.slice(0, colon) : host
}

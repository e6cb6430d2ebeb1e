/**
 * Header rewriting for both directions, on raw header arrays ([name, value, name, value, …]),
 * so no header object is built per request.
 *
 * RFC 9110 §7.6.1: Connection, every header it names, and the classic hop-by-hop headers apply
 * to one connection only and are never forwarded. Expect is answered by the gateway itself
 * (Node sends 100 Continue), so it is not forwarded either. Proxy-Authorization and
 * Proxy-Authenticate are meant for a proxy; this gateway does no proxy authentication, so
 * they stop here too.
 */
const HOP_BY_HOP = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'expect', 'proxy-authorization', 'proxy-authenticate', 'http2-settings'
])

export const VIA = '1.1 ultrabalancer'

/** Extra names a Connection header lists, lower-case; undefined when it lists only close/keep-alive. */
export function connectionTokens (value: string | undefined): Set<string> | undefined {
  if (value === undefined) return undefined
  let set: Set<string> | undefined
  for (const part of value.split(',')) {
    const t = part.trim().toLowerCase()
    if (t === '' || t === 'close' || t === 'keep-alive') continue
    ;(set ??= new Set()).add(t)
  }
  return set
}

export interface ForwardInfo {
  clientIp: string
  proto: string
  /** Value to send as Host. */
  host: string
  /** The client's own Host (for X-Forwarded-Host); "" when it sent none. */
  clientHost: string
  requestId: string
  trustProxy: boolean
  /** From connectionTokens() of the client's Connection header. */
  named: Set<string> | undefined
}

/** Headers to send upstream: the client's, less hop-by-hop, plus Host, X-Forwarded-*, Via and X-Request-Id. */
export function requestHeaders (raw: readonly string[], info: ForwardInfo): string[] {
  const out: string[] = []
  let xff = ''
  let xfProto = ''
  let xfHost = ''
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    const lk = name.toLowerCase()
    if (HOP_BY_HOP.has(lk)) continue
    switch (lk) {
      case 'host':
      case 'x-request-id':
        continue
      case 'x-forwarded-for':
        if (info.trustProxy) xff = xff === '' ? raw[i + 1]! : `${xff}, ${raw[i + 1]!}`
        continue
      case 'x-forwarded-proto':
        if (info.trustProxy && xfProto === '') xfProto = raw[i + 1]!
        continue
      case 'x-forwarded-host':
        if (info.trustProxy && xfHost === '') xfHost = raw[i + 1]!
        continue
    }
    if (info.named !== undefined && info.named.has(lk)) continue
    out.push(name, raw[i + 1]!)
  }
  out.push(
    'host', info.host,
    'x-forwarded-for', xff === '' ? info.clientIp : `${xff}, ${info.clientIp}`,
    'x-forwarded-proto', xfProto === '' ? info.proto : xfProto,
    'via', VIA,
    'x-request-id', info.requestId
  )
  const fwdHost = xfHost === '' ? info.clientHost : xfHost
  if (fwdHost !== '') out.push('x-forwarded-host', fwdHost)
  return out
}

/** Headers to send to the client: the backend's (bytes kept as latin1), less hop-by-hop, plus Via and X-Request-Id. */
export function responseHeaders (raw: readonly Buffer[], requestId: string): string[] {
  const out: string[] = []
  let named: Set<string> | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1')
    const lk = name.toLowerCase()
    if (HOP_BY_HOP.has(lk)) {
      if (lk === 'connection') named = connectionTokens(raw[i + 1]!.toString('latin1'))
      continue
    }
    if (lk === 'x-request-id') continue
    out.push(name, raw[i + 1]!.toString('latin1'))
  }
  if (named !== undefined) return withoutNamed(out, named).concat('via', VIA, 'x-request-id', requestId)
  out.push('via', VIA, 'x-request-id', requestId)
  return out
}

function withoutNamed (headers: string[], named: Set<string>): string[] {
  const out: string[] = []
  for (let i = 0; i < headers.length; i += 2) {
    if (!named.has(headers[i]!.toLowerCase())) out.push(headers[i]!, headers[i + 1]!)
  }
  return out
}

import { codes, staticBodies, type ErrorCode, type GatewayError } from '../errors.js'

/** Seconds a client is told to wait after a 503 (no ready backend, shutting down). */
export const RETRY_AFTER_SECONDS = '1'

/**
 * The headers a catalogue error is sent with, the same wherever it is raised (the proxy, a
 * WebSocket refusal written to a socket, a Fastify hook, the admin API): JSON content type,
 * `Cache-Control: no-store` (an error must not be cached by a CDN in front), `Retry-After` on
 * every 503 (RFC 9110 §10.2.3) and a Bearer challenge on 401 (RFC 6750 §3). Computed once per
 * code at load; the request id and Content-Length are added by the renderer.
 */
const HEADERS: Readonly<Record<ErrorCode, readonly string[]>> = Object.freeze(Object.fromEntries(
  (Object.keys(codes) as ErrorCode[]).map((code) => {
    const status = codes[code].status
    const h = ['content-type', 'application/json; charset=utf-8', 'cache-control', 'no-store']
    if (status === 503) h.push('retry-after', RETRY_AFTER_SECONDS)
    if (status === 401) h.push('www-authenticate', 'Bearer realm="ultrabalancer-admin"')
    return [code, Object.freeze(h)]
  })
) as Record<ErrorCode, readonly string[]>)

/** Flat [name, value, …] list, without Content-Length and X-Request-Id. */
export function errorHeaders (err: GatewayError): readonly string[] {
  return HEADERS[err.code]
}

/**
 * The JSON body: `{ error, message }`, rendered at load for argument-free errors so the common
 * cases do no JSON work; `extra` fields follow (a refused config's `issues`).
 */
export function errorBody (err: GatewayError, extra?: Readonly<Record<string, unknown>>): string {
  if (extra !== undefined) return JSON.stringify({ error: err.code, message: err.message, ...extra })
  return staticBodies[err.code] ?? err.toBody()
}

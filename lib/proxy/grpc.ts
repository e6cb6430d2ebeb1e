import type { IncomingMessage, ServerResponse } from 'node:http'
import type { GatewayError } from '../errors.js'
import { grpcCodeOfHttp, grpcStatusOf } from '../grpc-codes.js'

/**
 * gRPC over the HTTP proxy (a gRPC call is an HTTP/2 POST with `content-type: application/grpc`,
 * whose status travels in trailers). Two things differ from plain HTTP:
 *
 * - A trailers-only answer (the backend failed the call before any message: grpc-status in
 *   its HEADERS, with END_STREAM) cannot be relayed as is through Node's response object,
 *   which sends headers and the end of the stream separately; gRPC clients then see no
 *   status. Its grpc-* status fields are moved to trailers instead (HEADERS, then TRAILERS),
 *   which every gRPC client reads the same way.
 * - Errors the gateway makes itself are gRPC statuses (HTTP 200, grpc-status and grpc-message
 *   in trailers), never an HTTP 502 with a JSON body a gRPC client cannot read.
 */

/** The status fields of a gRPC answer (gRPC's PROTOCOL-HTTP2.md: Status, Status-Message, details). */
const STATUS_FIELDS = new Set(['grpc-status', 'grpc-message', 'grpc-status-details-bin'])

export { GRPC, grpcStatusOf } from '../grpc-codes.js'

/** grpc-timeout units (PROTOCOL-HTTP2.md: Hours, Minutes, Seconds, milli-, micro-, nanoseconds) in ms. */
const TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 }

/** A grpc-timeout value ("100m", "5S": at most 8 digits and a unit) in ms, or undefined when malformed. */
export function parseGrpcTimeout (value: string): number | undefined {
  const m = /^(\d{1,8})([HMSmun])$/.exec(value.trim())
  if (m === null) return undefined
  return Number(m[1]) * TIMEOUT_UNIT_MS[m[2]!]!
}

/** Whether a request is a gRPC call: HTTP/2 with a gRPC content-type (read only on error paths). */
export function isGrpcRequest (req: IncomingMessage): boolean {
  return req.httpVersionMajor === 2 && isGrpcContentType(req.headers['content-type'] ?? '')
}

/** Whether a content-type is gRPC's (`application/grpc`, `application/grpc+proto`, ...). */
export function isGrpcContentType (value: string): boolean {
  return value.length >= 16 && value.slice(0, 16).toLowerCase() === 'application/grpc'
}

/**
 * Splits an answer's headers for a gRPC client: when they carry grpc-status (a trailers-only
 * answer), the status fields come out, to be sent as trailers. Returns undefined otherwise.
 */
export function trailersOnlyStatus (headers: string[]): { headers: string[], trailers: Record<string, string> } | undefined {
  let found = false
  for (let i = 0; i < headers.length; i += 2) if (headers[i]!.toLowerCase() === 'grpc-status') found = true
  if (!found) return undefined
  const kept: string[] = []
  const trailers: Record<string, string> = {}
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!.toLowerCase()
    if (STATUS_FIELDS.has(name)) trailers[name] = headers[i + 1]!
    else kept.push(headers[i]!, headers[i + 1]!)
  }
  return { headers: kept, trailers }
}

/**
 * The gRPC status a backend's answer carries before any message: its grpc-status when the
 * answer is trailers-only, the status gRPC reads from a non-200 HTTP status, else undefined (a
 * normal answer, whose status comes in trailers after the messages). Read only for gRPC calls.
 */
export function grpcAnswerCode (statusCode: number, rawHeaders: Buffer[]): number | undefined {
  if (statusCode !== 200) return grpcCodeOfHttp(statusCode)
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!
    if (name.length === 11 && name.toString('latin1').toLowerCase() === 'grpc-status') {
      const code = Number(rawHeaders[i + 1]!.toString('latin1'))
      return Number.isInteger(code) ? code : undefined
    }
  }
  return undefined
}

/** A gateway error as a gRPC status: 200, content-type application/grpc, the status in trailers. */
export function sendGrpcError (res: ServerResponse, err: GatewayError, requestId: string): void {
  if (res.headersSent || res.destroyed) {
    res.destroy()
    return
  }
  const headers = ['content-type', 'application/grpc']
  if (requestId !== '') headers.push('x-request-id', requestId)
  res.writeHead(200, headers)
  // grpc-message is percent-encoded (PROTOCOL-HTTP2.md); the catalogue's messages are ASCII.
  res.addTrailers({ 'grpc-status': String(grpcStatusOf(err.code)), 'grpc-message': encodeURIComponent(err.message), 'x-gateway-error': err.code })
  res.end()
}

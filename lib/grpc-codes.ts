/**
 * gRPC status codes (grpc/include/grpc/impl/codegen/status.h; the names are gRPC's own), shared by
 * the config (retry.grpcStatuses names them), the proxy (lib/proxy/grpc.ts) and the metrics (the
 * `grpc_code` label). Framework-free, so every layer can depend on it.
 */
import type { ErrorCode } from './errors.js'

export const GRPC_CODE_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE',
  'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'
] as const

export type GrpcCodeName = typeof GRPC_CODE_NAMES[number]

/** The code of a name, or undefined for a name gRPC does not have. */
export function grpcCodeOf (name: string): number | undefined {
  const i = (GRPC_CODE_NAMES as readonly string[]).indexOf(name)
  return i === -1 ? undefined : i
}

/**
 * The label for a status code: its name, or UNKNOWN for a number outside gRPC's table (a backend
 * may send any digits), so the label set stays bounded.
 */
export function grpcCodeLabel (code: number): GrpcCodeName {
  return GRPC_CODE_NAMES[code] ?? 'UNKNOWN'
}

/**
 * The gRPC status a client reads from an HTTP status that is not 200 (gRPC's
 * doc/http-grpc-status-mapping.md): what a gRPC client makes of a non-gRPC answer.
 */
export function grpcCodeOfHttp (status: number): number {
  switch (status) {
    case 400: return 13 // INTERNAL
    case 401: return 16 // UNAUTHENTICATED
    case 403: return 7 // PERMISSION_DENIED
    case 404: return 12 // UNIMPLEMENTED
    case 429: case 502: case 503: case 504: return 14 // UNAVAILABLE
    default: return 2 // UNKNOWN
  }
}

/** gRPC status codes (grpc/status.h). */
export const GRPC = { OK: 0, CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, RESOURCE_EXHAUSTED: 8, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14 } as const

/** The gRPC status a gRPC client gets for each gateway error; codes not listed are INTERNAL. */
const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  GW_NO_BACKEND: GRPC.UNAVAILABLE,
  GW_UPSTREAM_UNAVAILABLE: GRPC.UNAVAILABLE,
  GW_UPSTREAM_ERROR: GRPC.UNAVAILABLE,
  GW_UPSTREAM_CONNECT_TIMEOUT: GRPC.UNAVAILABLE,
  GW_UPSTREAM_RESET: GRPC.UNAVAILABLE,
  GW_UPSTREAM_TLS: GRPC.UNAVAILABLE,
  GW_STARTING: GRPC.UNAVAILABLE,
  GW_UPSTREAM_TIMEOUT: GRPC.DEADLINE_EXCEEDED,
  GW_RATE_LIMITED: GRPC.RESOURCE_EXHAUSTED,
  GW_BODY_TOO_LARGE: GRPC.RESOURCE_EXHAUSTED,
  GW_HEADERS_TOO_LARGE: GRPC.RESOURCE_EXHAUSTED,
  GW_ROUTE_NOT_FOUND: GRPC.UNIMPLEMENTED,
  GW_BAD_REQUEST: GRPC.INTERNAL
}

export function grpcStatusOf (code: ErrorCode): number {
  return STATUS_OF[code] ?? GRPC.INTERNAL
}

/**
 * Gateway errors that mean the call never reached a backend (nothing was sent: the connection
 * was refused, unreachable, or not made in time), so trying another backend is safe for any
 * call, as gRPC's own transparent retries are.
 */
export const NOT_SENT: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['GW_UPSTREAM_UNAVAILABLE', 'GW_UPSTREAM_CONNECT_TIMEOUT'])

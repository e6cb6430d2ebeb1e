import { grpcCodeLabel } from '../grpc-codes.js'

/**
 * Label values of one finished gRPC call, bounded: the status is one of gRPC's 17 names; the
 * service and method (only when metrics.grpcMethods is on) come from the request path, which
 * the client chooses, so at most MAX_GRPC_METHODS distinct paths get labels of their own and
 * every later one is counted as service "other", method "other". A path that is not gRPC's
 * "/package.Service/Method" shape is "other" too.
 */
export const MAX_GRPC_METHODS = 200

export interface GrpcCallLabels {
  readonly code: string
  readonly service: string
  readonly method: string
}

const OTHER = { service: 'other', method: 'other' } as const

/** Per exporter: remembers which paths got labels of their own. */
export class GrpcLabeller {
  private readonly methods = new Map<string, { service: string, method: string }>()

  constructor (readonly withMethods: boolean) {}

  labels (path: string, code: number): GrpcCallLabels {
    const m = this.withMethods ? this.methodOf(path) : { service: '', method: '' }
    return { code: grpcCodeLabel(code), service: m.service, method: m.method }
  }

  private methodOf (path: string): { service: string, method: string } {
    const known = this.methods.get(path)
    if (known !== undefined) return known
    if (this.methods.size >= MAX_GRPC_METHODS) return OTHER
    const m = /^\/([A-Za-z0-9_.]+)\/([A-Za-z0-9_]+)$/.exec(path)
    const parts = m === null ? OTHER : { service: m[1]!, method: m[2]! }
    this.methods.set(path, parts)
    return parts
  }
}

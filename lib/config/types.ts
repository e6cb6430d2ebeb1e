/**
 * The normalised gateway configuration: what the loader returns after parsing, substituting,
 * validating and applying defaults. Every duration is in milliseconds, every size in bytes.
 * The rest of the gateway reads only this shape, never raw YAML.
 *
 * Contract: keys present here are kept by later versions (they may gain siblings, never renames).
 */

export interface ListenConfig {
  host: string
  port: number
  /** Keep incoming X-Forwarded-* (append to X-Forwarded-For) when true; replace them when false. */
  trustProxy: boolean
  /** Whole request head must arrive within this (slowloris guard). */
  headersTimeout: number
  /** Whole request (head and body) must arrive within this. 0 disables. */
  requestTimeout: number
  /** Idle keep-alive connections from clients are closed after this. */
  keepAliveTimeout: number
  /** Largest request head accepted; larger gets 431. */
  maxHeaderSize: number
}

export interface AdminConfig {
  host: string
  port: number
  /** Bearer token for /admin; empty string means none. */
  token: string
}

export interface BackendConfig {
  /** Stable id, unique within its pool; defaults to "host:port" of the url. */
  id: string
  /** Normalised origin plus optional base path, e.g. "http://127.0.0.1:9001" or "https://api:8443/base". */
  url: string
  weight: number
}

export interface AlgorithmConfig {
  /** A built-in name, or "module:<absolute path>" for a custom algorithm. */
  name: string
  /** Absolute path of a custom algorithm module (then `name` is "module:<path>"). */
  module?: string
  /** Algorithm-specific options, validated by the algorithm's own schema. */
  options: Record<string, unknown>
}

export interface TimeoutsConfig {
  /** TCP (and TLS) connect to a backend; over it the client gets 504. */
  connect: number
  /** Time to the backend's response headers, and the longest gap between body chunks; over it 504. */
  request: number
  /** How long an unused pooled upstream connection is kept; keep it under the backend's own keep-alive. */
  idle: number
}

export interface TlsConfig {
  /** PEM text of extra CA certificates, read from `caFile` at load. */
  ca?: string
  caFile?: string
  /** False only for self-signed test setups: skips certificate verification. */
  rejectUnauthorized: boolean
  /** SNI / certificate name override; defaults to the backend's host. */
  servername?: string
}

export interface PoolConfig {
  name: string
  algorithm: AlgorithmConfig
  backends: BackendConfig[]
  timeouts: TimeoutsConfig
  tls: TlsConfig
  /** "preserve" forwards the client's Host; "backend" sends the backend's host:port. */
  hostHeader: 'preserve' | 'backend'
  /**
   * Slow start in ms (0: off): a backend added at run time or coming back (enabled, healthy)
   * ramps from a tenth of its weight to all of it over this time.
   */
  slowStart: number
}

export interface RouteMatch {
  /** Lower-case host without port; "*.example.com" matches any subdomain. */
  host?: string
  /** Segment-aware prefix: "/api" matches "/api", "/api/x", "/api?q", not "/apis". Default "/". */
  pathPrefix: string
  /** Lower-case header name to exact value. */
  headers?: Record<string, string>
  /** Upper-case method names. */
  methods?: string[]
}

export interface RouteConfig {
  match: RouteMatch
  pool: string
  /** Remove match.pathPrefix from the path before forwarding. */
  stripPrefix: boolean
  /** Largest request body in bytes; 0 means no limit. Over it: 413. */
  maxBodySize: number
}

export interface LogConfig {
  level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** One JSON line per request when true. */
  access: boolean
}

export interface ShutdownConfig {
  /** How long in-flight requests may take after SIGTERM/SIGINT before the process exits anyway. */
  timeout: number
}

export interface GatewayConfig {
  listen: ListenConfig
  admin: AdminConfig
  pools: Record<string, PoolConfig>
  /** Tried in order; first match wins. Never empty after loading (one pool and no routes: a catch-all). */
  routes: RouteConfig[]
  log: LogConfig
  shutdown: ShutdownConfig
}

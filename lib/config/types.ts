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

/** Exponential backoff with jitter for probing unhealthy backends. */
export interface BackoffConfig {
  /** First delay after a backend turns unhealthy (ms). */
  initial: number
  /** Longest delay (ms). */
  max: number
  /** Each failed probe multiplies the delay by this (>= 1). */
  multiplier: number
  /** Each delay is moved by up to ±jitter of itself, at random (0..1). */
  jitter: number
}

export interface ActiveHealthConfig {
  type: 'http' | 'tcp'
  /** http only: request method, path and headers (e.g. a Host header). */
  method: string
  path: string
  headers: Record<string, string>
  /** http only: accepted status ranges, e.g. [[200, 399]] from "200-399". */
  expectStatus: Array<[number, number]>
  /** http only: the body must contain this text (the first 64 KiB are read). */
  bodyMatch?: string
  /** Between probes of a healthy backend (ms); each wait is jittered by up to ±jitter. */
  interval: number
  /** One probe's deadline (ms). */
  timeout: number
  /** Consecutive passing probes that turn an unhealthy backend healthy. */
  healthyThreshold: number
  /** Consecutive failing probes that turn a healthy backend unhealthy. */
  unhealthyThreshold: number
  /** State of a backend before its first probe result: at startup and when added. */
  initialState: 'healthy' | 'unhealthy'
  /** Probing an unhealthy backend backs off; also sets the jitter of the healthy interval. */
  backoff: BackoffConfig
}

export interface PassiveHealthConfig {
  /** Consecutive failures (connect errors, timeouts, resets, failureStatuses) that eject. */
  consecutiveFailures: number
  /** Backend answers that count as failures. */
  failureStatuses: number[]
  /** An ejection lasts baseEjectionTime × (times ejected so far), capped by maxEjectionTime (ms). */
  baseEjectionTime: number
  maxEjectionTime: number
  /** Never more than this share of the pool ejected at once (percent, 0..100). */
  maxEjectionPercent: number
}

export interface HealthCheckConfig {
  /** undefined: no active checks (backends count as healthy). */
  active?: ActiveHealthConfig
  /** undefined: no passive ejection. */
  passive?: PassiveHealthConfig
}

export interface CircuitBreakerConfig {
  /** Open when the failure rate over `window` reaches this percent (with minimumRequests). */
  failureRateThreshold: number
  /** Rolling window for the failure rate (ms). */
  window: number
  minimumRequests: number
  /** Or open after this many consecutive failures (0: off). */
  consecutiveFailures: number
  /** Time open before half-open (ms); each re-open doubles it, up to maxOpenDuration. */
  openDuration: number
  maxOpenDuration: number
  /** Trial requests let through while half-open; all must succeed to close. */
  halfOpenRequests: number
  /** Requests served at once per backend (0: unlimited); also its upstream socket count. */
  maxConnections: number
  /** Requests that may wait for one of those sockets (0: none wait); the pool admits at most maxConnections + maxPendingRequests. */
  maxPendingRequests: number
}

export interface RetryConfig {
  /** Tries in all, the first included (1: no retries). */
  attempts: number
  /** Deadline of one try until the answer's headers (ms), capped by timeouts.request; 0: timeouts.request alone. */
  perTryTimeout: number
  /** Capped exponential backoff with full jitter between tries (ms). */
  backoff: { base: number, max: number }
  /** Backend answers that are retried. */
  statuses: number[]
  /** Methods that may be retried. Default the idempotent GET, HEAD, OPTIONS, TRACE. */
  methods: string[]
  /** PUT/DELETE (if in methods) are retried only when their body is at most this many bytes (kept to replay); 0: only bodiless ones. */
  maxReplayBody: number
  /** Retries stay under `percent` of requests over `window` (ms), with at least minRetries allowed. */
  budget: { percent: number, window: number, minRetries: number }
}

export interface PoolConfig {
  name: string
  /**
   * What the backends speak, from their URL schemes: "http" (http:// and https://, for routes
   * and WebSocket routes) or "tcp" (tcp://, for tcp listeners only).
   */
  protocol: 'http' | 'tcp'
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
  healthCheck: HealthCheckConfig
  /** undefined: no circuit breaker and no per-backend limits. */
  circuitBreaker?: CircuitBreakerConfig
  retry: RetryConfig
  /** Percent (0..100): when fewer of the pool are healthy, balance over all of them; 0 off. */
  panicThreshold: number
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

export interface HeaderRules {
  /** Lower-case name to value: replaces any header of that name. */
  set: Record<string, string>
  /** Lower-case names to remove. */
  remove: string[]
}

export interface RouteConfig {
  match: RouteMatch
  pool: string
  /** Remove match.pathPrefix from the path before forwarding. */
  stripPrefix: boolean
  /** Largest request body in bytes; 0 means no limit. Over it: 413. */
  maxBodySize: number
  /** At most `max` requests per `window` ms per client (its IP, or a header's value); over it 429. */
  rateLimit?: { max: number, window: number, key: { from: 'ip' } | { from: 'header', name: string } }
  /** Header rules: set (add or replace) and remove, on the forwarded request and on the answer. */
  headers?: { request: HeaderRules, response: HeaderRules }
  /** WebSocket upgrades on this route are proxied to the pool (otherwise Upgrade is ignored). */
  websocket: boolean
}

export interface WebSocketConfig {
  /**
   * On shutdown, or when a backend drains or leaves, its open WebSockets get close code 1001
   * after this long (ms); 0: at once.
   */
  drainTimeout: number
}

/** A layer-4 listener: each accepted connection is piped to a backend of `pool`. */
export interface TcpListenerConfig {
  listen: { host: string, port: number }
  pool: string
  /** A connection with no bytes either way for this long is closed (ms); 0: never. */
  idleTimeout: number
  /** Connections the listener holds at once; more are refused at accept (0: no limit). */
  maxConnections: number
  /** On shutdown, removal of the listener, or a backend drain: connections still open after this are closed (ms). */
  drainTimeout: number
}

export interface LogConfig {
  level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
  /** One JSON line per request when true. */
  access: boolean
  /** With access on: the share of requests logged (1: all); failed requests are always logged. */
  accessSample: number
}

export interface StatsdConfig {
  host: string
  port: number
  /** Prepended to every metric name, e.g. "gateway.". */
  prefix: string
  /** Sent on every metric as DogStatsD tags when dogstatsd is on. */
  tags: Record<string, string>
  dogstatsd: boolean
  /** How often gauges are sent and buffered packets flushed (ms). */
  flushInterval: number
}

export interface MetricsConfig {
  /** false: the request path records nothing (gateway_* metrics stay empty); for measuring the cost. */
  enabled: boolean
  /** Path of the Prometheus endpoint on the admin listener (and the client one when enabled). */
  path: string
  onClientListener: boolean
  /** Buckets (seconds) of gateway_request_duration_seconds and gateway_backend_response_seconds. */
  buckets: number[]
  backendBuckets: number[]
  /** undefined: no StatsD exporter. */
  statsd?: StatsdConfig
}

export interface ShutdownConfig {
  /** How long in-flight requests may take after SIGTERM/SIGINT before the process exits anyway. */
  timeout: number
}

export interface PluginConfig {
  /** Absolute path of a module whose default export is a Fastify plugin. */
  module: string
  /** Passed to the plugin when it is registered. */
  options: Record<string, unknown>
}

export interface GatewayConfig {
  listen: ListenConfig
  admin: AdminConfig
  pools: Record<string, PoolConfig>
  /** Tried in order; first match wins. Never empty after loading (one pool and no routes: a catch-all). */
  routes: RouteConfig[]
  log: LogConfig
  metrics: MetricsConfig
  /** Middleware: Fastify plugins registered in the proxy's scope, in order, before its route. */
  plugins: PluginConfig[]
  shutdown: ShutdownConfig
  websocket: WebSocketConfig
  /** Layer-4 listeners (empty: none). */
  tcp: TcpListenerConfig[]
}

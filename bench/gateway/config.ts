/**
 * The gateway's side of `npm run bench`: free ports for it and the YAML config it runs with.
 *
 * freePorts(n) returns n distinct ports that were free a moment ago (all held open together, then
 * released for the gateway to take). gatewayYaml() is the whole config: round-robin over the HTTP
 * backends, a WebSocket route on /ws and a TCP listener to the echo servers, a fresh admin token,
 * quiet logs unless accessLog, and a drain time (SHUTDOWN_TIMEOUT) shorter than the SIGKILL
 * fallback of stopChild().
 *
 * modeYaml() is the config of the tls, h2 and grpc modes: the same plaintext listener and demo
 * pool (the readiness probe and the plaintext rows use them), plus a TLS listener on tlsPort with
 * the bench certificate (HTTP/2 and HTTP/1.1 by ALPN), and per mode: h2, a `protocol: http2`
 * pool of the h2c backends behind the path prefix /h2c; grpc, an h2c listener on h2cPort and a
 * `protocol: http2` pool of the gRPC echo servers behind the service's path prefix.
 */
import { randomBytes } from 'node:crypto'
import { createServer, type AddressInfo, type Server } from 'node:net'
import type { BackendGroup } from './backends.js'
import type { BenchCert } from './certs.js'
import { HOST } from './common.js'
import { ECHO_SERVICE } from './grpc-echo.js'
import type { Options } from './options.js'
import { SHUTDOWN_TIMEOUT } from './gateway.js'

export async function freePorts (n: number): Promise<number[]> {
  const servers: Server[] = []
  for (let i = 0; i < n; i++) {
    const s = createServer()
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.listen(0, HOST, resolve) })
    servers.push(s)
  }
  const ports = servers.map(s => (s.address() as AddressInfo).port)
  await Promise.all(servers.map(s => new Promise(resolve => s.close(resolve))))
  return ports
}

export function gatewayYaml (port: number, adminPort: number, tcpPort: number, backends: BackendGroup, accessLog: boolean, metrics: boolean): string {
  return [
    '# Written by bench/run.ts for one run; deleted afterwards.',
    `listen: { host: ${HOST}, port: ${port} }`,
    `admin: { host: ${HOST}, port: ${adminPort}, token: "${randomBytes(16).toString('hex')}" }`,
    'pools:',
    '  bench:',
    '    algorithm: round-robin',
    '    backends:',
    ...backends.ports.map(p => `      - url: http://${HOST}:${p}`),
    '  wsbench:',
    `    backends: [{ url: "http://${HOST}:${backends.wsPort}" }]`,
    '  tcpbench:',
    `    backends: [{ url: "tcp://${HOST}:${backends.tcpPort}" }]`,
    'routes:',
    '  - { match: { pathPrefix: /ws }, pool: wsbench, websocket: true }',
    '  - { pool: bench }',
    `tcp: [{ listen: { host: ${HOST}, port: ${tcpPort} }, pool: tcpbench }]`,
    'websocket: { drainTimeout: 1s }',
    ...tail(accessLog, metrics)
  ].join('\n')
}

/** Logs, metrics and the drain time: the same in every mode. */
function tail (accessLog: boolean, metrics: boolean): string[] {
  return [
    accessLog ? 'log: { level: info, access: true }' : 'log: { level: warn, access: false }',
    `metrics: { enabled: ${metrics} }`,
    `shutdown: { timeout: ${SHUTDOWN_TIMEOUT} }`,
    ''
  ]
}

export interface ModePortsIn { port: number, adminPort: number, tlsPort: number, h2cPort: number }

export function modeYaml (p: ModePortsIn, backends: BackendGroup, cert: BenchCert, opts: Options): string {
  const pool = (name: string, ports: number[], protocol?: string): string[] => [
    `  ${name}:`,
    '    algorithm: round-robin',
    ...(protocol !== undefined ? [`    protocol: ${protocol}`] : []),
    '    backends:',
    ...ports.map(port => `      - url: http://${HOST}:${port}`)
  ]
  const h2c = backends.extra.h2cPorts ?? []
  const grpc = backends.extra.grpcPorts ?? []
  return [
    `# Written by bench/run.ts for one run (--mode ${opts.mode}); deleted afterwards.`,
    'listen:',
    `  - { host: ${HOST}, port: ${p.port} }`,
    `  - { host: ${HOST}, port: ${p.tlsPort}, http2: true, tls: { certificates: [{ cert: "${cert.cert}", key: "${cert.key}" }] } }`,
    ...(opts.mode === 'grpc' ? [`  - { host: ${HOST}, port: ${p.h2cPort}, http2: true }`] : []),
    `admin: { host: ${HOST}, port: ${p.adminPort}, token: "${randomBytes(16).toString('hex')}" }`,
    'pools:',
    ...pool('bench', backends.ports),
    ...(h2c.length > 0 ? pool('h2cbench', h2c, 'http2') : []),
    ...(grpc.length > 0 ? pool('grpcbench', grpc, 'http2') : []),
    'routes:',
    ...(h2c.length > 0 ? ['  - { match: { pathPrefix: /h2c }, pool: h2cbench }'] : []),
    ...(grpc.length > 0 ? [`  - { match: { pathPrefix: /${ECHO_SERVICE}/ }, pool: grpcbench }`] : []),
    '  - { pool: bench }',
    ...tail(opts.accessLog, opts.metrics)
  ].join('\n')
}

import { randomBytes } from 'node:crypto'
import { readFileSync, watch, type FSWatcher } from 'node:fs'
import { dirname } from 'node:path'
import type { Socket } from 'node:net'
import type { SecureContextOptions, TlsOptions, TLSSocket } from 'node:tls'
import type { Server as HttpsServer } from 'node:https'
import type { FastifyBaseLogger } from 'fastify'
import type { ListenTlsConfig } from '../config/sections/listen-tls.js'
import { loadCertificate, type CertificateInfo, type LoadedCertificate } from './certificate.js'
import { SniTable } from './sni.js'
import { tlsFailureReason, type TlsMetrics } from '../metrics/tls.js'
import { GatewayError } from '../errors.js'
import { writeSocketError } from '../proxy/respond.js'

/** Changes on disk are applied this long after the last one (certbot writes several files). */
export const WATCH_SETTLE_MS = 200
/** A session-ticket key: 16 bytes name, 16 HMAC, 16 AES (Node's tls.Server.setTicketKeys). */
const TICKET_KEY_BYTES = 48

interface CertificateSet {
  sni: SniTable<LoadedCertificate>
  all: LoadedCertificate[]
  /** The files it was read from and their text, to tell a real change on disk from a touch. */
  fingerprint: string
}

export interface TerminatorDeps {
  logger: FastifyBaseLogger
  metrics: TlsMetrics
  /** Where the listener is, for log lines. */
  name: string
}

/**
 * TLS for one client listener: its certificates chosen by SNI (exact names, then `*.` wildcards,
 * else the first certificate), versions, ciphers, client certificates (mTLS), session tickets
 * with a rotated key, and certificate rotation without a restart:
 *
 * - on reload, prepare() reads the new certificates (a bad one refuses the reload, naming the
 *   file) and commit() makes new handshakes use them;
 * - when a certificate, key or CA file changes on disk (certbot renew, a Kubernetes secret
 *   update: both replace files or symlinks in a folder, so the folders are watched), the files
 *   are read again; a set that fails its checks is logged with the file and the reason, and the
 *   certificates in use keep serving.
 *
 * Open connections are never touched: a TLS session keeps the certificate it was made with.
 */
export class TlsTerminator {
  private set: CertificateSet
  private ticketKeys = randomBytes(TICKET_KEY_BYTES)
  private server: HttpsServer | undefined
  private watchers: FSWatcher[] = []
  private settle: NodeJS.Timeout | undefined
  private rotation: NodeJS.Timeout | undefined

  /** Throws CertificateError when a certificate cannot be served (config load has checked them). */
  constructor (private cfg: ListenTlsConfig, private readonly deps: TerminatorDeps) {
    this.set = loadSet(cfg)
  }

  /** The options for https.createServer: the default certificate, SNI, versions, mTLS, and ALPN (`h2` first when offered). */
  serverOptions (alpn: string[]): TlsOptions {
    return {
      ...serverContextOptions(this.cfg, this.set.all[0]!, this.ticketKeys),
      SNICallback: (servername, cb) => { cb(null, this.set.sni.lookup(servername).context) },
      requestCert: this.cfg.clientCertificate.mode !== 'off',
      rejectUnauthorized: this.cfg.clientCertificate.mode === 'require',
      handshakeTimeout: this.cfg.handshakeTimeout,
      sessionTimeout: Math.ceil(this.cfg.sessionTimeout / 1000),
      ALPNProtocols: alpn
    }
  }

  /** Starts serving `server` (made with serverOptions()): failure counting, ticket key rotation, watching. */
  attach (server: HttpsServer): void {
    this.server = server
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => { this.handshakeFailed(err, socket) })
    this.startRotation()
    this.watchFiles()
  }

  /** What the admin API and the expiry metric show. */
  certificates (): CertificateInfo[] {
    return this.set.all.map((c) => c.info)
  }

  /**
   * The reload's prepare for this listener's `tls`: reads and checks the new certificates now
   * (throwing CertificateError, changing nothing); the commit makes new handshakes use them.
   */
  prepare (next: ListenTlsConfig): { commit: () => void } {
    const set = loadSet(next)
    return {
      commit: () => {
        this.cfg = next
        this.use(set)
        this.startRotation()
        this.watchFiles()
      }
    }
  }

  close (): void {
    clearTimeout(this.settle)
    clearInterval(this.rotation)
    for (const w of this.watchers) w.close()
    this.watchers = []
  }

  private use (set: CertificateSet): void {
    this.set = set
    const server = this.server
    if (server === undefined) return
    // The default context (clients without SNI) and the options Node reads per connection.
    server.setSecureContext(serverContextOptions(this.cfg, set.all[0]!, this.ticketKeys))
    const s = server as unknown as { requestCert: boolean, rejectUnauthorized: boolean }
    s.requestCert = this.cfg.clientCertificate.mode !== 'off'
    s.rejectUnauthorized = this.cfg.clientCertificate.mode === 'require'
  }

  private startRotation (): void {
    clearInterval(this.rotation)
    this.rotation = undefined
    const every = this.cfg.ticketKeyRotation
    if (every <= 0 || this.server === undefined) return
    const server = this.server
    this.rotation = setInterval(() => {
      this.ticketKeys = randomBytes(TICKET_KEY_BYTES)
      server.setTicketKeys(this.ticketKeys)
    }, every).unref()
  }

  private watchFiles (): void {
    for (const w of this.watchers) w.close()
    this.watchers = []
    const dirs = new Set(watchedFiles(this.cfg).map((f) => dirname(f)))
    for (const dir of dirs) {
      try {
        const w = watch(dir, { persistent: false }, () => { this.changedOnDisk() })
        w.on('error', () => {})
        this.watchers.push(w)
      } catch (err) {
        this.deps.logger.warn({ listener: this.deps.name, dir, err }, 'cannot watch certificate folder: changes there apply on reload only')
      }
    }
  }

  private changedOnDisk (): void {
    clearTimeout(this.settle)
    this.settle = setTimeout(() => { this.reloadFromDisk() }, WATCH_SETTLE_MS)
    this.settle.unref()
  }

  /** Reads the files again; applies them if they changed and pass the checks, else keeps the old ones. */
  reloadFromDisk (): void {
    let set: CertificateSet
    try {
      if (fingerprintOf(this.cfg) === this.set.fingerprint) return
      set = loadSet(this.cfg)
    } catch (err) {
      this.deps.logger.error({ listener: this.deps.name, reason: (err as Error).message }, 'certificate change on disk refused: the certificates in use keep serving')
      return
    }
    this.use(set)
    this.deps.logger.info({ listener: this.deps.name, certificates: set.all.map((c) => ({ names: c.info.names, notAfter: c.info.notAfter })) }, 'certificates reloaded from disk')
  }

  private handshakeFailed (err: NodeJS.ErrnoException, socket: TLSSocket): void {
    const reason = tlsFailureReason(err.code)
    this.deps.metrics.handshakeFailed(reason)
    // Plain HTTP sent to the TLS port: answered in plain text, as nginx's 497 is, then closed.
    // The bytes under the TLS layer are the raw socket's (`_parent`, the one Node wrapped).
    const raw = (socket as unknown as { _parent?: Socket | null })._parent
    if (reason === 'http_request' && raw != null && raw.writable) {
      writeSocketError(raw, new GatewayError('GW_PLAIN_HTTP_ON_TLS'), '')
      return
    }
    socket.destroy()
  }
}

function serverContextOptions (cfg: ListenTlsConfig, first: LoadedCertificate, ticketKeys: Buffer): SecureContextOptions {
  return { ...commonOptions(cfg), ...first.pem, ticketKeys }
}

/** What every context of the listener shares: versions, ciphers, curves, the client CA. */
function commonOptions (cfg: ListenTlsConfig): SecureContextOptions {
  return {
    minVersion: cfg.minVersion,
    ...(cfg.ciphers !== undefined ? { ciphers: cfg.ciphers } : {}),
    ...(cfg.ecdhCurve !== undefined ? { ecdhCurve: cfg.ecdhCurve } : {}),
    ...(cfg.clientCertificate.ca !== undefined ? { ca: readFileSync(cfg.clientCertificate.ca, 'utf8') } : {})
  }
}

function loadSet (cfg: ListenTlsConfig): CertificateSet {
  const fingerprint = fingerprintOf(cfg)
  const common = commonOptions(cfg)
  const all = cfg.certificates.map((src) => loadCertificate(src, common))
  return { sni: new SniTable(all.map((c) => ({ names: c.info.names, value: c })), all[0]!), all, fingerprint }
}

function watchedFiles (cfg: ListenTlsConfig): string[] {
  const files = cfg.certificates.flatMap((c) => [c.cert, c.key])
  if (cfg.clientCertificate.ca !== undefined) files.push(cfg.clientCertificate.ca)
  return files
}

/** The files' text, joined: equal when nothing that matters changed. Unreadable files read as empty. */
function fingerprintOf (cfg: ListenTlsConfig): string {
  return watchedFiles(cfg).map((f) => {
    try { return readFileSync(f, 'utf8') } catch { return '' }
  }).join('\u0000')
}

import type { Server as HttpServer, RequestListener } from 'node:http'
import type { Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { FastifyBaseLogger } from 'fastify'
import type { ListenConfig } from '../config/types.js'
import type { PreparedChange } from '../reload/participant.js'
import type { TrafficSwitch } from '../traffic-switch.js'
import type { TlsMetrics } from '../metrics/tls.js'
import type { CertificateInfo } from '../tls/certificate.js'
import { createClientServer } from '../client-limits.js'
import { setListenerInfo } from '../http/listener-info.js'
import { TlsTerminator } from '../tls/terminator.js'
import { redirectHandler } from './redirect.js'
import { createHttp2Server, dispatchByAlpn, http2Options, Http2Sessions } from './h2.js'
import type { Http2Server } from 'node:http2'

export interface ListenersDeps {
  traffic: TrafficSwitch
  logger: FastifyBaseLogger
  tlsMetrics: TlsMetrics
}

/**
 * One client listener: its config, the server that listens (http, https, or for h2c an HTTP/2
 * one), its TLS when it has one, and the HTTP/2 server and sessions when it speaks HTTP/2.
 */
interface Listener {
  cfg: ListenConfig
  server: HttpServer
  tls: TlsTerminator | undefined
  h2: { server: Http2Server, sessions: Http2Sessions } | undefined
  handler: RequestListener
}

/** A served certificate, with the listener that serves it. */
export interface ListenerCertificate extends CertificateInfo { listener: string }

/**
 * The client listeners (config `listen`, one or a list): each a Node http or https server with
 * its own limits, handing requests and upgrades to the TrafficSwitch (or, with `redirect:
 * https`, answering every request with a redirect). What the proxy needs to know per listener
 * (trusted X-Forwarded-*, the scheme, the client-subject header) is set on its server
 * (lib/http/listener-info.ts).
 *
 * Reload ("listen" participant, prepare then commit): a listener whose address stays (same
 * host and port; port 0 keeps the bound port, as does the bound port itself) is kept, with its
 * open connections: new limits, trust, redirect and certificates apply to new connections and
 * requests at commit. New addresses are bound in prepare, by new servers; addresses that left
 * stop accepting after the commit, and their open requests finish. An address cannot switch
 * between TLS and plaintext, or turn HTTP/2 on or off, in a reload (the port would have to be
 * closed and bound again): that refuses the reload with the listener's path.
 */
export class ClientListeners {
  private list: Listener[]

  constructor (cfgs: readonly ListenConfig[], private readonly deps: ListenersDeps) {
    this.list = cfgs.map((cfg) => this.create(cfg, true))
  }

  /** Binds every listener, in order; on a failure closes those bound and throws, naming the address. */
  async listen (): Promise<void> {
    const bound: Listener[] = []
    try {
      for (const l of this.list) {
        await bind(l)
        bound.push(l)
      }
    } catch (err) {
      for (const l of bound) l.server.close()
      throw err
    }
  }

  /** The servers, in config order. */
  servers (): HttpServer[] {
    return this.list.map((l) => l.server)
  }

  /** Every served certificate, by listener. */
  certificates (): ListenerCertificate[] {
    return this.list.flatMap((l) => l.tls?.certificates().map((c) => ({ ...c, listener: nameOf(l.cfg) })) ?? [])
  }

  /** The reload's prepare for a `listen` section (see the class comment). */
  async prepare (next: readonly ListenConfig[]): Promise<PreparedChange | undefined> {
    if (JSON.stringify(next) === JSON.stringify(this.list.map((l) => l.cfg))) return undefined
    const kept = new Map<number, Listener>() // next index -> running listener
    const taken = new Set<Listener>()
    next.forEach((n, i) => {
      const running = this.list.find((l, j) => !taken.has(l) && sameAddress(l, n, i === j))
      if (running === undefined) return
      if ((running.cfg.tls === undefined) !== (n.tls === undefined)) {
        throw new Error(`listen[${i}]: ${nameOf(n)} cannot switch between TLS and plaintext in a reload; restart the gateway, or move it to another port`)
      }
      if (running.cfg.http2 !== n.http2) {
        throw new Error(`listen[${i}]: ${nameOf(n)} cannot turn HTTP/2 ${n.http2 ? 'on' : 'off'} in a reload (ALPN is fixed when the port opens); restart the gateway, or move it to another port`)
      }
      kept.set(i, running)
      taken.add(running)
    })
    // Certificates first (they may be refused), then new ports.
    const tlsCommits = [...kept].map(([i, l]) => next[i]!.tls !== undefined ? l.tls!.prepare(next[i]!.tls!) : undefined)
    const fresh: Listener[] = []
    try {
      for (let i = 0; i < next.length; i++) {
        if (kept.has(i)) continue
        const l = this.create(next[i]!, false)
        fresh.push(l)
        await bind(l)
      }
    } catch (err) {
      for (const l of fresh) closeListener(l)
      throw err
    }
    const leaving = this.list.filter((l) => !taken.has(l))
    return {
      abort: () => { for (const l of fresh) closeListener(l) },
      commit: () => {
        let f = 0
        this.list = next.map((n, i) => {
          const l = kept.get(i)
          if (l === undefined) return fresh[f++]!
          this.update(l, n)
          return l
        })
        for (const c of tlsCommits) c?.commit()
        for (const l of fresh) l.tls?.attach(l.server as unknown as HttpsServer)
      },
      afterCommit: () => { for (const l of leaving) closeListener(l) }
    }
  }

  /** The gateway's onClose: stops accepting everywhere; open requests finish, idle connections close. */
  async close (): Promise<void> {
    await Promise.all(this.list.map(async (l) => {
      l.tls?.close()
      if (!l.server.listening) return
      const closed = new Promise<void>((resolve) => { l.server.close(() => { resolve() }) })
      closeIdle(l)
      await closed
    }))
  }

  /** A server for `cfg` (not bound). `attach`: start its TLS now (at startup) or at the reload's commit. */
  private create (cfg: ListenConfig, attach: boolean): Listener {
    const tls = cfg.tls === undefined ? undefined : new TlsTerminator(cfg.tls, { logger: this.deps.logger, metrics: this.deps.tlsMetrics, name: nameOf(cfg) })
    const handler = this.handlerFor(cfg)
    const h2server = cfg.http2 ? createHttp2Server(cfg, handler) : undefined
    const h2 = h2server === undefined ? undefined : { server: h2server, sessions: new Http2Sessions(h2server) }
    let server: HttpServer
    if (h2server !== undefined && tls === undefined) {
      // h2c by prior knowledge: the HTTP/2 server listens itself.
      server = h2server as unknown as HttpServer
    } else {
      server = createClientServer(cfg, handler, tls?.serverOptions(h2server !== undefined ? ['h2', 'http/1.1'] : ['http/1.1']))
      server.on('upgrade', this.deps.traffic.upgrade)
      if (h2server !== undefined) dispatchByAlpn(server as unknown as HttpsServer, h2server)
    }
    setListenerInfo(server, infoOf(cfg))
    if (attach) tls?.attach(server as unknown as HttpsServer)
    return { cfg, server, tls, h2, handler }
  }

  /** A kept listener takes its new settings (commit). */
  private update (l: Listener, next: ListenConfig): void {
    const server = l.server
    // Read by Node per new connection or request: open connections keep what they had.
    server.headersTimeout = next.headersTimeout
    server.requestTimeout = next.requestTimeout
    server.keepAliveTimeout = next.keepAliveTimeout
    ;(server as { maxHeaderSize?: number }).maxHeaderSize = next.maxHeaderSize
    if (l.h2 !== undefined) {
      l.h2.server.updateSettings(http2Options(next).settings!)
      l.h2.server.setTimeout(next.keepAliveTimeout)
    }
    setListenerInfo(server, infoOf(next))
    if ((next.redirect === undefined) !== (l.cfg.redirect === undefined)) {
      const handler = this.handlerFor(next)
      for (const s of [server, l.h2?.server]) {
        for (const event of ['request', 'checkContinue']) {
          s?.removeListener(event, l.handler)
          s?.on(event, handler)
        }
      }
      l.handler = handler
    }
    l.cfg = next
  }

  private handlerFor (cfg: ListenConfig): RequestListener {
    return cfg.redirect === 'https' ? redirectHandler(() => this.httpsPort()) : this.deps.traffic.handle
  }

  /** The port of the first TLS listener now (its bound port when configured with 0). */
  private httpsPort (): number {
    const l = this.list.find((x) => x.tls !== undefined)
    if (l === undefined) return 443
    return (l.server.address() as AddressInfo | null)?.port ?? l.cfg.port
  }
}

function infoOf (cfg: ListenConfig): { trustProxy: boolean, proto: 'http' | 'https', subjectHeader: string | undefined } {
  return { trustProxy: cfg.trustProxy, proto: cfg.tls !== undefined ? 'https' : 'http', subjectHeader: cfg.tls?.clientCertificate.header }
}

function sameAddress (l: Listener, next: ListenConfig, sameIndex: boolean): boolean {
  if (l.cfg.host !== next.host) return false
  const bound = (l.server.address() as AddressInfo | null)?.port
  return next.port === l.cfg.port || next.port === bound || (next.port === 0 && sameIndex)
}

async function bind (l: Listener): Promise<void> {
  const { host, port } = l.cfg
  await new Promise<void>((resolve, reject) => {
    // The message names the listener; the code (EADDRINUSE, EACCES) stays for callers.
    const failed = (err: NodeJS.ErrnoException): void => { reject(Object.assign(new Error(`cannot listen on ${host}:${port}: ${err.message}`, { cause: err }), { code: err.code })) }
    l.server.once('error', failed)
    l.server.listen({ host, port }, () => {
      l.server.removeListener('error', failed)
      resolve()
    })
  })
}

/** Stops accepting; requests in flight finish, idle keep-alive connections close now. */
function closeListener (l: Listener): void {
  l.tls?.close()
  l.server.close()
  closeIdle(l)
}

/** Idle HTTP/1.1 connections close; HTTP/2 sessions get a GOAWAY (their open streams finish). */
function closeIdle (l: Listener): void {
  if (typeof l.server.closeIdleConnections === 'function') l.server.closeIdleConnections()
  l.h2?.sessions.closeAll()
}

function nameOf (cfg: ListenConfig): string {
  return `${cfg.host}:${cfg.port}`
}

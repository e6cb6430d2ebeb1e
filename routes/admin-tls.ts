import { Type, type Static } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { ListenerCertificate } from '../lib/traffic/listeners.js'
import { tokenCheck } from './admin.js'

export const CertificateView = Type.Object({
  listener: Type.String({ description: 'host:port of the TLS listener serving it' }),
  names: Type.Array(Type.String(), { description: 'Server names it is chosen for (SNI); the first certificate of a listener is also its default' }),
  subject: Type.String(),
  issuer: Type.String(),
  notBefore: Type.String({ format: 'date-time' }),
  notAfter: Type.String({ format: 'date-time' }),
  fingerprint: Type.String({ description: 'SHA-256 of the certificate' }),
  certFile: Type.String(),
  keyFile: Type.String()
})

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
/** Compiles only while CertificateView lists every field of ListenerCertificate (the serializer drops the rest). */
export const CERTIFICATE_VIEW_MATCHES: Same<Static<typeof CertificateView>, ListenerCertificate> = true

export interface AdminTlsRoutesOptions {
  certificates: () => ListenerCertificate[]
  token: string
}

/** `GET /admin/certificates`: what every TLS listener serves now (after rotations). */
export default async function adminTlsRoutes (app: FastifyInstance, opts: AdminTlsRoutesOptions): Promise<void> {
  if (opts.token !== '') app.addHook('onRequest', tokenCheck(opts.token))
  app.get('/admin/certificates', {
    schema: { summary: 'The certificates the TLS listeners serve, with names and validity', response: { 200: Type.Object({ certificates: Type.Array(CertificateView) }) } }
  }, async () => ({ certificates: opts.certificates() }))
}

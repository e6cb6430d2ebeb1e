import { readFileSync } from 'node:fs'
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto'
import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls'

/** One certificate entry of a TLS listener, as the config gives it (paths resolved). */
export interface CertificateSource {
  /** PEM file: the certificate, then its chain. */
  cert: string
  /** PEM file: the private key, encrypted when `passphrase` is set. */
  key: string
  passphrase?: string
  /** Names to serve it for; default: the certificate's DNS names (SANs), or its CN without any. */
  names?: string[]
}

/** What the admin API and metrics show of a certificate. */
export interface CertificateInfo {
  names: string[]
  subject: string
  issuer: string
  /** ISO 8601. */
  notBefore: string
  notAfter: string
  /** SHA-256 fingerprint of the leaf certificate. */
  fingerprint: string
  certFile: string
  keyFile: string
}

export interface LoadedCertificate {
  info: CertificateInfo
  /** For SNI (lib/tls/sni.ts): the certificate with the listener's `common` options (versions, ciphers, client CA). */
  context: SecureContext
  /** The PEM texts, for the server's default context (setSecureContext takes options, not a context). */
  pem: { cert: string, key: string, passphrase?: string }
}

/** A certificate that cannot be served: `file` and `reason` say which and why. */
export class CertificateError extends Error {
  /** `which` file of the entry is at fault: its `cert` or its `key`. */
  constructor (readonly file: string, readonly reason: string, readonly which: 'cert' | 'key') {
    super(`${file}: ${reason}`)
  }
}

/**
 * Reads and checks one certificate and its key: the certificate parses, the key opens (with its
 * passphrase) and matches it, and `now` is inside its validity; OpenSSL takes them with the
 * listener's `common` context options. Throws CertificateError naming
 * the file at fault. Called at config load (to refuse a bad config with the path) and whenever a
 * listener (re)loads its certificates, never per handshake.
 */
export function loadCertificate (src: CertificateSource, common: SecureContextOptions = {}, now = Date.now()): LoadedCertificate {
  const certPem = readPem(src.cert, 'cert')
  const keyPem = readPem(src.key, 'key')
  let x509: X509Certificate
  try {
    x509 = new X509Certificate(certPem)
  } catch (err) {
    throw new CertificateError(src.cert, `not a PEM certificate (${(err as Error).message})`, 'cert')
  }
  let key: KeyObject
  try {
    key = createPrivateKey({ key: keyPem, passphrase: src.passphrase, format: 'pem' })
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    // OpenSSL 3 says "interrupted or cancelled" when an encrypted key is read with no passphrase.
    const reason = src.passphrase === undefined && /passphrase|encrypted|bad decrypt|interrupted or cancelled/i.test(`${e.code ?? ''} ${e.message}`)
      ? 'the key is encrypted and no passphrase is given'
      : src.passphrase !== undefined && /bad decrypt|BAD_DECRYPT/i.test(`${e.code ?? ''} ${e.message}`)
        ? 'the passphrase does not open the key'
        : `not a usable PEM private key (${e.message})`
    throw new CertificateError(src.key, reason, 'key')
  }
  if (!x509.checkPrivateKey(key)) throw new CertificateError(src.key, `the key does not match the certificate ${src.cert}`, 'key')
  const notBefore = Date.parse(x509.validFrom)
  const notAfter = Date.parse(x509.validTo)
  if (now >= notAfter) throw new CertificateError(src.cert, `the certificate expired on ${new Date(notAfter).toISOString()}`, 'cert')
  if (now < notBefore) throw new CertificateError(src.cert, `the certificate is not valid before ${new Date(notBefore).toISOString()}`, 'cert')
  const names = src.names ?? namesOf(x509)
  if (names.length === 0) throw new CertificateError(src.cert, 'the certificate names no host (no DNS subjectAltName, no CN); list its `names`', 'cert')
  const pem = { cert: certPem, key: keyPem, ...(src.passphrase !== undefined ? { passphrase: src.passphrase } : {}) }
  let context: SecureContext
  try {
    context = createSecureContext({ ...common, ...pem })
  } catch (err) {
    throw new CertificateError(src.cert, `OpenSSL refused the certificate and key (${(err as Error).message})`, 'cert')
  }
  return {
    info: {
      names,
      subject: x509.subject.replaceAll('\n', ', '),
      issuer: x509.issuer.replaceAll('\n', ', '),
      notBefore: new Date(notBefore).toISOString(),
      notAfter: new Date(notAfter).toISOString(),
      fingerprint: x509.fingerprint256,
      certFile: src.cert,
      keyFile: src.key
    },
    context,
    pem
  }
}

function readPem (file: string, which: 'cert' | 'key'): string {
  const what = which === 'cert' ? 'certificate' : 'key'
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new CertificateError(file, `cannot read the ${what} file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, which)
  }
  if (!text.includes('-----BEGIN ')) throw new CertificateError(file, `holds no PEM block (no "-----BEGIN" line); a ${what} in PEM is expected`, which)
  return text
}

/** The DNS names of the subjectAltName extension, lower-case; the CN when there is none. */
export function namesOf (x509: X509Certificate): string[] {
  const san = x509.subjectAltName
  if (san !== undefined) {
    const dns = san.split(', ').filter((e) => e.startsWith('DNS:')).map((e) => e.slice(4).toLowerCase())
    if (dns.length > 0) return dns
  }
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(x509.subject)?.[1]
  return cn !== undefined ? [cn.toLowerCase()] : []
}

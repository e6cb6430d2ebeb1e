/**
 * The bench's own TLS certificate: self-signed, EC P-256 (cheap handshakes, as most sites
 * serve today), for localhost and 127.0.0.1, valid for two days, written into the bench's
 * temporary directory. Made with the openssl command line because node:crypto can make keys
 * but not X.509 certificates; the TLS tests (test/helpers/pki.ts) need openssl too.
 * Throws with a hint when openssl is missing.
 */
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

export interface BenchCert { cert: string, key: string }

export function makeBenchCert (dir: string): BenchCert {
  const out = { cert: join(dir, 'bench-cert.pem'), key: join(dir, 'bench-key.pem') }
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', out.key, '-out', out.cert, '-days', '2', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: ['ignore', 'ignore', 'pipe'] })
  } catch (err) {
    throw new Error(`cannot make the bench certificate with openssl (apt-get install openssl): ${(err as Error).message}`)
  }
  return out
}

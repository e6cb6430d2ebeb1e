/**
 * A test PKI made with the openssl command line (Debian's openssl; .ci/run installs it where it
 * is missing): a CA, and certificates it signs for given names, valid now, expired, or not yet
 * valid, with plain or encrypted keys, for servers or for clients (mTLS). Everything lives in a
 * tap test dir; keys are EC P-256 (fast to make).
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface Issued {
  cert: string
  key: string
}

export interface IssueOptions {
  /** DNS names of the subjectAltName; none: a certificate with only a CN. */
  names?: string[]
  cn?: string
  /** valid: now for 30 days (default); expired: 2020; future: from 2090. */
  validity?: 'valid' | 'expired' | 'future'
  /** Encrypts the key with this passphrase. */
  passphrase?: string
  /** A client certificate (extendedKeyUsage clientAuth) instead of a server one. */
  client?: boolean
  /** Issue with this CA instead of the PKI's own (a certificate another CA signed). */
  ca?: Issued
}

export interface Pki {
  dir: string
  ca: Issued
  issue: (file: string, opts?: IssueOptions) => Issued
  /** Another CA, for certificates the PKI's CA did not sign. */
  otherCa: (file: string) => Issued
}

const openssl = (args: string[], cwd: string): void => {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
}

export function makePki (dir: string): Pki {
  mkdirSync(join(dir, 'newcerts'), { recursive: true })
  writeFileSync(join(dir, 'index.txt'), '')
  writeFileSync(join(dir, 'serial'), '1000\n')
  writeFileSync(join(dir, 'ca.cnf'), `[ ca ]
default_ca = test_ca
[ test_ca ]
dir = ${dir}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[ any ]
commonName = supplied
`)
  const makeCa = (name: string): Issued => {
    const ca = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) }
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', ca.key, '-out', ca.cert,
      '-days', '30', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir)
    return ca
  }
  const ca = makeCa('test-ca')
  const issue = (file: string, opts: IssueOptions = {}): Issued => {
    const out = { cert: join(dir, `${file}.pem`), key: join(dir, `${file}.key`) }
    const csr = join(dir, `${file}.csr`)
    const ext = join(dir, `${file}.ext`)
    const names = opts.names ?? []
    writeFileSync(ext, [
      names.length > 0 ? `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}` : '',
      `extendedKeyUsage=${opts.client === true ? 'clientAuth' : 'serverAuth'}`
    ].filter((l) => l !== '').join('\n') + '\n')
    openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', out.key, '-out', csr,
      '-subj', `/CN=${opts.cn ?? names[0] ?? file}`], dir)
    const signer = opts.ca ?? ca
    const when = opts.validity ?? 'valid'
    if (when === 'valid') {
      openssl(['x509', '-req', '-in', csr, '-CA', signer.cert, '-CAkey', signer.key, '-CAcreateserial', '-days', '30', '-extfile', ext, '-out', out.cert], dir)
    } else {
      const [start, end] = when === 'expired' ? ['20200101000000Z', '20200201000000Z'] : ['20900101000000Z', '20900201000000Z']
      openssl(['ca', '-batch', '-config', join(dir, 'ca.cnf'), '-cert', signer.cert, '-keyfile', signer.key, '-in', csr, '-out', out.cert,
        '-startdate', start, '-enddate', end, '-extfile', ext, '-notext'], dir)
    }
    if (opts.passphrase !== undefined) {
      const plain = `${out.key}.plain`
      openssl(['pkey', '-in', out.key, '-out', plain], dir)
      openssl(['pkey', '-in', plain, '-aes256', '-passout', `pass:${opts.passphrase}`, '-out', out.key], dir)
    }
    return out
  }
  return { dir, ca, issue, otherCa: makeCa }
}

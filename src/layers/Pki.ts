/**
 * Certificates and kubeconfigs for `ark serve` on its own: a private CA, the HTTPS serving
 * certificate and an admin client certificate (O=system:masters, which the server treats as
 * cluster-admin like kube-apiserver does). They live in `<dataDir>/pki/` and are reused across
 * restarts so kubeconfigs handed out once keep working.
 *
 * Keys are EC P-256: WebCrypto makes them natively in milliseconds (tests start many servers),
 * and Go's TLS stack (kubectl, helm) accepts them.
 */
// @peculiar/x509 resolves its internals through tsyringe, which needs the Reflect metadata API
// loaded before it.
import "reflect-metadata"
import * as x509 from "@peculiar/x509"
import { Effect, Schema } from "effect"
import { createPrivateKey, KeyObject, webcrypto, X509Certificate } from "node:crypto"
import { mkdir, readFile, rename, writeFile } from "node:fs/promises"
import { isIP } from "node:net"
import { dirname, join, resolve } from "node:path"
import { stringify } from "yaml"

export class PkiError extends Schema.TaggedError<PkiError>()("PkiError", {
  message: Schema.String
}) {}

export interface PkiOptions {
  /** The server's data directory; the PKI goes into its `pki/` subdirectory. */
  readonly dataDir: string
  /** DNS names and IP addresses the serving certificate must be valid for. */
  readonly hosts: ReadonlyArray<string>
}

export interface Pki {
  readonly caCertPem: string
  readonly serverCertPem: string
  readonly serverKeyPem: string
  readonly adminCertPem: string
  readonly adminKeyPem: string
  readonly caFile: string
  readonly serverCertFile: string
  readonly serverKeyFile: string
  readonly adminCertFile: string
  readonly adminKeyFile: string
}

export interface KubeconfigOptions {
  readonly file: string
  /** The server's https URL. */
  readonly server: string
  readonly pki: Pki
  /** Name of the cluster, user and context; default "ark". */
  readonly contextName?: string
  /** The context's default namespace; default "default". */
  readonly namespace?: string
}

export interface InsecureKubeconfigOptions {
  readonly file: string
  /** The server's http URL. */
  readonly server: string
  readonly contextName?: string
  readonly namespace?: string
}

const HOUR = 60 * 60 * 1000
const DAY = 24 * HOUR
/** Certificates this close to expiry are replaced, so a running server never serves an expired one. */
const RENEW_BEFORE = 30 * DAY

const ecP256 = { name: "ECDSA", namedCurve: "P-256" } as const
const crypto = webcrypto as unknown as Crypto

const message = (e: unknown) => (e instanceof Error ? e.message : String(e))

const attempt = <A>(what: string, f: () => Promise<A>) =>
  Effect.tryPromise({ try: f, catch: (e) => new PkiError({ message: `${what}: ${message(e)}` }) })

interface Files {
  readonly certFile: string
  readonly keyFile: string
}

interface Stored extends Files {
  readonly certPem: string
  readonly keyPem: string
  readonly cert: X509Certificate
}

/** Writes through a temporary file and a rename, so a crash never leaves half a PEM behind. */
const writeAtomically = async (file: string, content: string, mode: number) => {
  const temp = `${file}.${process.pid}.${Date.now().toString(36)}.tmp`
  await writeFile(temp, content, { mode })
  await rename(temp, file)
}

/** The certificate and key in `files`, or undefined when either is missing, unparseable or they do not belong together. */
const readStored = (files: Files) =>
  Effect.tryPromise(async (): Promise<Stored | undefined> => {
    const [certPem, keyPem] = await Promise.all([readFile(files.certFile, "utf8"), readFile(files.keyFile, "utf8")])
    const cert = new X509Certificate(certPem)
    return cert.checkPrivateKey(createPrivateKey(keyPem)) ? { ...files, certPem, keyPem, cert } : undefined
  }).pipe(Effect.orElseSucceed(() => undefined))

const freshAt = (cert: X509Certificate, now: number) => cert.validToDate.getTime() - now > RENEW_BEFORE

const coversHosts = (cert: X509Certificate, hosts: ReadonlyArray<string>) =>
  hosts.every((host) => (isIP(host) ? cert.checkIP(host) : cert.checkHost(host, { subject: "never" })) !== undefined)

interface Issued {
  readonly certPem: string
  readonly keyPem: string
}

/** The CA as a signer for @peculiar/x509. */
interface Issuer {
  readonly cert: x509.X509Certificate
  readonly key: CryptoKey
}

const newKeys = () => crypto.subtle.generateKey(ecP256, true, ["sign", "verify"])

const keyPem = (key: CryptoKey) => KeyObject.from(key).export({ type: "pkcs8", format: "pem" }).toString()

/** Backdated an hour so a peer whose clock lags slightly still accepts a just-made certificate. */
const validity = (days: number) => {
  const now = Date.now()
  return { notBefore: new Date(now - HOUR), notAfter: new Date(now + days * DAY) }
}

const issueCa = async (): Promise<Issued> => {
  const keys = await newKeys()
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: ["ark-effect-ca"] }],
    keys,
    ...validity(3650),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto)
    ]
  }, crypto)
  return { certPem: cert.toString("pem"), keyPem: keyPem(keys.privateKey) }
}

const loadIssuer = async (ca: Stored): Promise<Issuer> => {
  const der = createPrivateKey(ca.keyPem).export({ type: "pkcs8", format: "der" })
  return {
    cert: new x509.X509Certificate(ca.certPem),
    key: await crypto.subtle.importKey("pkcs8", der, ecP256, false, ["sign"])
  }
}

const issueLeaf = async (
  ca: Issuer,
  subject: x509.JsonName,
  extensions: ReadonlyArray<x509.Extension>
): Promise<Issued> => {
  const keys = await newKeys()
  const cert = await x509.X509CertificateGenerator.create({
    subject,
    // The CA's own encoded name, so issuer and subject bytes match exactly for chain building.
    issuer: ca.cert.subjectName,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    ...validity(365),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey, false, crypto),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ...extensions
    ]
  }, crypto)
  return { certPem: cert.toString("pem"), keyPem: keyPem(keys.privateKey) }
}

const issueServer = (ca: Issuer, hosts: ReadonlyArray<string>) =>
  issueLeaf(ca, [{ CN: ["ark-effect-server"] }], [
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    new x509.SubjectAlternativeNameExtension(hosts.map((host) => ({ type: isIP(host) ? "ip" : "dns", value: host })))
  ])

const issueAdmin = (ca: Issuer) =>
  issueLeaf(ca, [{ CN: ["ark-admin"] }, { O: ["system:masters"] }], [
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])
  ])

/** Issues a certificate and stores it (key 0600). */
const replace = (files: Files, what: string, issue: () => Promise<Issued>) =>
  attempt(`issuing ${what}`, async (): Promise<Stored> => {
    const { certPem, keyPem } = await issue()
    await writeAtomically(files.keyFile, keyPem, 0o600)
    await writeAtomically(files.certFile, certPem, 0o644)
    return { ...files, certPem, keyPem, cert: new X509Certificate(certPem) }
  })

/**
 * Makes sure `<dataDir>/pki/` holds a usable CA, serving certificate for `hosts` and admin
 * client certificate, issuing only what is missing, about to expire, no longer signed by the CA,
 * or (for the serving certificate) lacking one of `hosts`.
 */
export const ensurePki = Effect.fn("ensurePki")(function*(options: PkiOptions): Effect.fn.Return<Pki, PkiError> {
  const dir = resolve(options.dataDir, "pki")
  const files = (name: string): Files => ({ certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) })
  yield* attempt(`creating ${dir}`, () => mkdir(dir, { recursive: true, mode: 0o700 }))
  const now = Date.now()
  const hosts = [...new Set(options.hosts)]

  const storedCa = yield* readStored(files("ca"))
  const ca = storedCa !== undefined && storedCa.cert.ca && freshAt(storedCa.cert, now)
    ? storedCa
    : yield* replace(files("ca"), "the CA certificate", issueCa)
  const issuer = yield* attempt("loading the CA", () => loadIssuer(ca))
  const usable = (stored: Stored | undefined): stored is Stored =>
    stored !== undefined && freshAt(stored.cert, now) && stored.cert.verify(ca.cert.publicKey)

  const storedServer = yield* readStored(files("server"))
  const server = usable(storedServer) && coversHosts(storedServer.cert, hosts)
    ? storedServer
    : yield* replace(files("server"), "the server certificate", () => issueServer(issuer, hosts))
  const storedAdmin = yield* readStored(files("admin"))
  const admin = usable(storedAdmin)
    ? storedAdmin
    : yield* replace(files("admin"), "the admin client certificate", () => issueAdmin(issuer))

  return {
    caCertPem: ca.certPem,
    serverCertPem: server.certPem,
    serverKeyPem: server.keyPem,
    adminCertPem: admin.certPem,
    adminKeyPem: admin.keyPem,
    caFile: ca.certFile,
    serverCertFile: server.certFile,
    serverKeyFile: server.keyFile,
    adminCertFile: admin.certFile,
    adminKeyFile: admin.keyFile
  }
})

const base64 = (pem: string) => Buffer.from(pem, "utf8").toString("base64")

/** A single-context kubeconfig; written 0600 as it may hold a private key. */
const writeConfig = (
  file: string,
  contextName: string,
  namespace: string,
  cluster: Record<string, string>,
  user: Record<string, string>
) =>
  attempt(`writing kubeconfig ${file}`, async () => {
    await mkdir(dirname(resolve(file)), { recursive: true })
    await writeAtomically(
      file,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: contextName, cluster }],
        users: [{ name: contextName, user }],
        contexts: [{ name: contextName, context: { cluster: contextName, user: contextName, namespace } }],
        "current-context": contextName,
        preferences: {}
      }),
      0o600
    )
  })

/** Writes a kubeconfig that trusts the PKI's CA and authenticates as the admin client certificate. */
export const writeKubeconfig = (options: KubeconfigOptions): Effect.Effect<void, PkiError> =>
  writeConfig(options.file, options.contextName ?? "ark", options.namespace ?? "default", {
    server: options.server,
    "certificate-authority-data": base64(options.pki.caCertPem)
  }, {
    "client-certificate-data": base64(options.pki.adminCertPem),
    "client-key-data": base64(options.pki.adminKeyPem)
  })

/** Writes a kubeconfig for `--insecure-http` mode: a plain http server and no credentials. */
export const writeInsecureKubeconfig = (options: InsecureKubeconfigOptions): Effect.Effect<void, PkiError> =>
  writeConfig(options.file, options.contextName ?? "ark", options.namespace ?? "default", { server: options.server }, {})

/** CAs and certificates made in tests (EC P-256, as src/layers/Pki.ts makes them), as PEM. */
import "reflect-metadata"
import * as x509 from "@peculiar/x509"
import { KeyObject, webcrypto } from "node:crypto"
import { isIP } from "node:net"

const crypto = webcrypto as unknown as Crypto
const alg = { name: "ECDSA", namedCurve: "P-256" } as const
const DAY = 24 * 60 * 60 * 1000

export interface Ca {
  readonly certPem: string
  readonly cert: x509.X509Certificate
  readonly key: CryptoKey
}

export interface Issued {
  readonly certPem: string
  readonly keyPem: string
}

const keyPem = (key: CryptoKey) => KeyObject.from(key).export({ type: "pkcs8", format: "pem" }).toString()

const validity = () => ({ notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 30 * DAY) })

export const makeCa = async (name: string): Promise<Ca> => {
  const keys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"])
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: [name] }],
    keys,
    ...validity(),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature, true)
    ]
  }, crypto)
  return { certPem: cert.toString("pem"), cert, key: keys.privateKey }
}

/** A client certificate (CN, O) or, with `hosts`, a serving certificate for them; valid for 30 days unless `notAfter`. */
export const issue = async (ca: Ca, subject: { cn: string; o?: ReadonlyArray<string>; hosts?: ReadonlyArray<string>; notAfter?: Date }): Promise<Issued> => {
  const keys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"])
  const server = subject.hosts !== undefined
  const cert = await x509.X509CertificateGenerator.create({
    subject: [{ CN: [subject.cn] }, ...(subject.o ?? []).map((o) => ({ O: [o] }))],
    issuer: ca.cert.subjectName,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    ...validity(),
    ...(subject.notAfter !== undefined ? { notAfter: subject.notAfter } : {}),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([server ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
      ...(server ? [new x509.SubjectAlternativeNameExtension(subject.hosts!.map((h) => ({ type: isIP(h) ? "ip" as const : "dns" as const, value: h })))] : [])
    ]
  }, crypto)
  return { certPem: cert.toString("pem"), keyPem: keyPem(keys.privateKey) }
}

/**
 * Client certificate verification against a CA bundle, done here rather than by the TLS stack:
 * the server trusts two bundles (client CA and front-proxy CA) for different purposes, and must
 * know which one a certificate chains to.
 */
// @peculiar/x509 needs the Reflect metadata API loaded before it (see Pki.ts).
import "reflect-metadata"
import * as x509 from "@peculiar/x509"
import { X509Certificate } from "node:crypto"

/** The certificates of a PEM bundle (a CA file may hold several); throws on unparseable PEM. */
export const parseBundle = (pem: string): ReadonlyArray<X509Certificate> =>
  (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((block) => new X509Certificate(block))

const clientAuth = "1.3.6.1.5.5.7.3.2"
const anyUsage = "2.5.29.37.0"
/** Longest chain of intermediates followed, so a peer cannot make us loop or work for long. */
const maxIntermediates = 8

const current = (cert: X509Certificate, now: number) =>
  cert.validFromDate.getTime() <= now && now <= cert.validToDate.getTime()

const signedBy = (child: X509Certificate, parent: X509Certificate) => child.checkIssued(parent) && child.verify(parent.publicKey)

/**
 * Until when `certificates` (leaf first, then the intermediates the client presented) chain to
 * one of `anchors` (the earliest end of validity on the path), or undefined when they do not:
 * every link within its validity, intermediates being CAs, and the leaf usable for client
 * authentication (as Go's x509.Verify with ExtKeyUsageClientAuth, which kube uses).
 */
const verifiedUntil = (certificates: ReadonlyArray<X509Certificate>, anchors: ReadonlyArray<X509Certificate>, now: number): number | undefined => {
  const [leaf, ...intermediates] = certificates
  if (leaf === undefined || anchors.length === 0) return undefined
  const usages = leaf.keyUsage as ReadonlyArray<string> | undefined
  if (usages !== undefined && !usages.includes(clientAuth) && !usages.includes(anyUsage)) return undefined
  let cert = leaf
  let until = Infinity
  for (let depth = 0; depth <= Math.min(intermediates.length, maxIntermediates); depth++) {
    if (!current(cert, now)) return undefined
    until = Math.min(until, cert.validToDate.getTime())
    const anchor = anchors.find((a) => current(a, now) && signedBy(cert, a))
    if (anchor !== undefined) return Math.min(until, anchor.validToDate.getTime())
    const next = intermediates.find((i) => i !== cert && i.ca && signedBy(cert, i))
    if (next === undefined) return undefined
    cert = next
  }
  return undefined
}

/**
 * Chains found valid, by the chain and the anchors, with until when: security.ts parses a
 * connection's chain once and the anchors stay the same objects until a CA rotation, so the
 * requests of a keep-alive connection check its signatures once, not each.
 */
const verified = new WeakMap<ReadonlyArray<X509Certificate>, WeakMap<ReadonlyArray<X509Certificate>, number>>()

/** Whether `certificates` chain to one of `anchors` (verifiedUntil), now. */
export const chainsTo = (
  certificates: ReadonlyArray<X509Certificate>,
  anchors: ReadonlyArray<X509Certificate>,
  now = Date.now()
): boolean => {
  const known = verified.get(certificates)?.get(anchors)
  if (known !== undefined && now <= known) return true
  const until = verifiedUntil(certificates, anchors, now)
  if (until === undefined) return false
  let byAnchors = verified.get(certificates)
  if (byAnchors === undefined) verified.set(certificates, byAnchors = new WeakMap())
  byAnchors.set(anchors, until)
  return true
}

/** Certificates' subjects, decoded once per certificate (a connection's chain is parsed once). */
const subjects = new WeakMap<X509Certificate, x509.Name>()

/**
 * The values of one attribute (CN, O) of a certificate's subject, decoded from DER (Node's
 * `subject` text escapes and joins values, which would let odd names blur together).
 */
export const subjectValues = (cert: X509Certificate, attribute: "CN" | "O"): ReadonlyArray<string> => {
  let subject = subjects.get(cert)
  if (subject === undefined) subjects.set(cert, subject = new x509.X509Certificate(cert.raw).subjectName)
  return subject.getField(attribute)
}

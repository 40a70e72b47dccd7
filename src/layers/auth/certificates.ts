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
 * Whether `certificates` (leaf first, then the intermediates the client presented) chain to one of
 * `anchors`, every link within its validity, intermediates being CAs, and the leaf usable for
 * client authentication (as Go's x509.Verify with ExtKeyUsageClientAuth, which kube uses).
 */
export const chainsTo = (
  certificates: ReadonlyArray<X509Certificate>,
  anchors: ReadonlyArray<X509Certificate>,
  now = Date.now()
): boolean => {
  const [leaf, ...intermediates] = certificates
  if (leaf === undefined || anchors.length === 0) return false
  const usages = leaf.keyUsage as ReadonlyArray<string> | undefined
  if (usages !== undefined && !usages.includes(clientAuth) && !usages.includes(anyUsage)) return false
  let cert = leaf
  for (let depth = 0; depth <= Math.min(intermediates.length, maxIntermediates); depth++) {
    if (!current(cert, now)) return false
    if (anchors.some((anchor) => current(anchor, now) && signedBy(cert, anchor))) return true
    const next = intermediates.find((i) => i !== cert && i.ca && signedBy(cert, i))
    if (next === undefined) return false
    cert = next
  }
  return false
}

/**
 * The values of one attribute (CN, O) of a certificate's subject, decoded from DER (Node's
 * `subject` text escapes and joins values, which would let odd names blur together).
 */
export const subjectValues = (cert: X509Certificate, attribute: "CN" | "O"): ReadonlyArray<string> =>
  new x509.X509Certificate(cert.raw).subjectName.getField(attribute)

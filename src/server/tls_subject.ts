/**
 * A client certificate's subject as Kafka sees it: the RFC 2253 string that Java's
 * `X500Principal.getName()` returns, which Kafka's default principal builder puts after `User:`
 * and which `ssl.principal.mapping.rules` match against ("CN=alice,OU=eng,O=Acme,C=US").
 *
 * Read straight from the certificate's DER bytes (both runtime adapters hand them over), because
 * the runtimes' parsed `subject` objects lose the attribute order and multi-valued RDNs.
 *
 * Java's rules, mirrored here: RDNs most specific first (the reverse of the DER order); the
 * attributes of a multi-valued RDN joined with "+" in DER order; the RFC 2253 keywords CN, C, L,
 * ST, O, OU, STREET, DC and UID, any other attribute (emailAddress, serialNumber…) as its dotted
 * OID with the DER value in lower-case hex ("1.2.840.113549.1.9.1=#1611…"); the characters
 * `, = + < > # ; " \` escaped with a backslash, as are leading and trailing spaces, and NUL as `\00`.
 *
 * @module
 */

/** A malformed certificate (the adapters only pass certificates the TLS stack already parsed). */
export class CertificateParseError extends RangeError {
  readonly code = "KBIN_CERTIFICATE_INVALID";
  constructor(message: string) {
    super(message);
    this.name = "CertificateParseError";
  }
}

const KEYWORDS: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.9": "STREET",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "0.9.2342.19200300.100.1.25": "DC",
  "0.9.2342.19200300.100.1.1": "UID",
};

const TAG_SEQUENCE = 0x30;
const TAG_SET = 0x31;
const TAG_OID = 0x06;
const UTF8 = new TextDecoder("utf-8", { fatal: false });

interface Tlv {
  tag: number;
  /** Start of the whole element (tag byte). */
  start: number;
  /** Start of the contents. */
  body: number;
  /** End of the element (exclusive). */
  end: number;
}

function readTlv(der: Uint8Array, pos: number, limit: number): Tlv {
  if (pos + 2 > limit) throw new CertificateParseError(`Cannot parse certificate: truncated DER at byte ${pos}`);
  const tag = der[pos]!;
  if ((tag & 0x1f) === 0x1f) throw new CertificateParseError(`Cannot parse certificate: multi-byte tag at byte ${pos}`);
  let len = der[pos + 1]!;
  let body = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || body + n > limit) {
      throw new CertificateParseError(`Cannot parse certificate: bad length at byte ${pos}`);
    }
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[body + i]!;
    body += n;
  }
  const end = body + len;
  if (end > limit) {
    throw new CertificateParseError(`Cannot parse certificate: element at byte ${pos} overruns its parent`);
  }
  return { tag, start: pos, body, end };
}

function expect(der: Uint8Array, pos: number, limit: number, tag: number, what: string): Tlv {
  const tlv = readTlv(der, pos, limit);
  if (tlv.tag !== tag) {
    throw new CertificateParseError(
      `Cannot parse certificate: expected ${what} (tag 0x${tag.toString(16)}) at byte ${pos}, got 0x${
        tlv.tag.toString(16)
      }`,
    );
  }
  return tlv;
}

function decodeOid(bytes: Uint8Array): string {
  if (bytes.length === 0) throw new CertificateParseError("Cannot parse certificate: empty attribute OID");
  const parts: number[] = [];
  let value = 0;
  for (const b of bytes) {
    value = value * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      if (parts.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        parts.push(first, value - first * 40);
      } else parts.push(value);
      value = 0;
    }
  }
  return parts.join(".");
}

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/** Decodes a DirectoryString-like value, or returns null for a type Java prints as hex. */
function decodeString(tag: number, bytes: Uint8Array): string | null {
  switch (tag) {
    case 0x0c: // UTF8String
    case 0x13: // PrintableString
    case 0x14: // T61String (Java reads its bytes as UTF-8 too)
    case 0x16: // IA5String
    case 0x1b: // GeneralString
      return UTF8.decode(bytes);
    case 0x1e: { // BMPString: UTF-16BE
      let s = "";
      for (let i = 0; i + 1 < bytes.length; i += 2) s += String.fromCharCode((bytes[i]! << 8) | bytes[i + 1]!);
      return s;
    }
    case 0x1c: { // UniversalString: UTF-32BE
      let s = "";
      for (let i = 0; i + 3 < bytes.length; i += 4) {
        s += String.fromCodePoint(
          ((bytes[i]! << 24) | (bytes[i + 1]! << 16) | (bytes[i + 2]! << 8) | bytes[i + 3]!) >>> 0,
        );
      }
      return s;
    }
    default:
      return null;
  }
}

const ESCAPED = ',=+<>#;"\\';

/** Escapes an attribute value the way Java's `AVA.toRFC2253String` does. */
export function escapeRfc2253Value(value: string): string {
  let out = "";
  for (const c of value) {
    if (ESCAPED.includes(c)) out += "\\" + c;
    else if (c === "\u0000") out += "\\00";
    else out += c;
  }
  // Leading and trailing spaces (and CRs, as Java does) get a backslash each.
  let lead = 0;
  while (lead < out.length && (out[lead] === " " || out[lead] === "\r")) lead++;
  let trail = out.length - 1;
  while (trail >= lead && (out[trail] === " " || out[trail] === "\r")) trail--;
  if (lead === 0 && trail === out.length - 1) return out;
  let result = "";
  for (let i = 0; i < out.length; i++) result += (i < lead || i > trail ? "\\" : "") + out[i];
  return result;
}

/**
 * Formats a DER X.501 `Name` (a SEQUENCE of RDN SETs) as an RFC 2253 string, most specific first.
 * @param name the DER bytes of the Name, tag included
 * @example
 * formatNameRfc2253(subjectDer); // "CN=alice,O=Acme"
 */
export function formatNameRfc2253(name: Uint8Array): string {
  const seq = expect(name, 0, name.length, TAG_SEQUENCE, "Name");
  const rdns: string[] = [];
  for (let pos = seq.body; pos < seq.end;) {
    const set = expect(name, pos, seq.end, TAG_SET, "RelativeDistinguishedName");
    const avas: string[] = [];
    for (let p = set.body; p < set.end;) {
      const ava = expect(name, p, set.end, TAG_SEQUENCE, "AttributeTypeAndValue");
      const oidTlv = expect(name, ava.body, ava.end, TAG_OID, "attribute type");
      const oid = decodeOid(name.subarray(oidTlv.body, oidTlv.end));
      const value = readTlv(name, oidTlv.end, ava.end);
      const keyword = KEYWORDS[oid];
      const text = keyword === undefined ? null : decodeString(value.tag, name.subarray(value.body, value.end));
      avas.push(
        keyword !== undefined && text !== null
          ? `${keyword}=${escapeRfc2253Value(text)}`
          : `${keyword ?? oid}=#${hex(name.subarray(value.start, value.end))}`,
      );
      p = ava.end;
    }
    rdns.push(avas.join("+"));
    pos = set.end;
  }
  return rdns.reverse().join(",");
}

/**
 * The subject of a DER X.509 certificate as an RFC 2253 string (what Kafka's default principal
 * builder sees for an mTLS client).
 * @param certificate the certificate's DER bytes
 * @returns e.g. "CN=writeuser,OU=Unknown,O=Unknown,L=Unknown,ST=Unknown,C=Unknown"
 * @throws {CertificateParseError} when the bytes are not a certificate
 * @example
 * certificateSubject(socket.getPeerCertificate().raw); // "CN=alice,O=Acme"
 */
export function certificateSubject(certificate: Uint8Array): string {
  const cert = expect(certificate, 0, certificate.length, TAG_SEQUENCE, "Certificate");
  const tbs = expect(certificate, cert.body, cert.end, TAG_SEQUENCE, "TBSCertificate");
  let pos = tbs.body;
  let field = readTlv(certificate, pos, tbs.end);
  if (field.tag === 0xa0) pos = field.end; // [0] version
  pos = readTlv(certificate, pos, tbs.end).end; // serialNumber
  pos = readTlv(certificate, pos, tbs.end).end; // signature AlgorithmIdentifier
  pos = expect(certificate, pos, tbs.end, TAG_SEQUENCE, "issuer").end;
  pos = expect(certificate, pos, tbs.end, TAG_SEQUENCE, "validity").end;
  field = expect(certificate, pos, tbs.end, TAG_SEQUENCE, "subject");
  return formatNameRfc2253(certificate.subarray(field.start, field.end));
}

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  CertificateParseError,
  certificateSubject,
  escapeRfc2253Value,
  formatNameRfc2253,
} from "../../../src/server/tls_subject.ts";

function base64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

// DER certificates and the subject Java's X500Principal.getName() prints for each (what Kafka's
// default principal builder sees), recorded with `java Subj.java` (OpenJDK 17.0.15) on 2026-12-07.
// KEYTOOL: keytool -genkeypair -dname "CN=writeuser,OU=Unknown,O=Unknown,L=Unknown,ST=Unknown,C=Unknown".
// TRICKY: openssl req -utf8 -multivalue-rdn -subj
//   '/C=US/ST=California/L=San Francisco/O=Acme, Inc./OU=eng+UID=42/CN= alice "the admin" <a=b>;#1\x /emailAddress=alice@acme.example'
// UTF8_DC_OID: openssl req -utf8 -subj "/DC=example/DC=com/O=Zoë Åström/serialNumber=1234/CN=#hash"
// PLAIN: openssl req -subj "/O=Acme/CN=alice"
const KEYTOOL = base64(
  "MIIB9DCCAZqgAwIBAgIJALjL5R0swUFpMAoGCCqGSM49BAMCMG4xEDAOBgNVBAYTB1Vua25vd24xEDAOBgNVBAgTB1Vua25vd24x" +
    "EDAOBgNVBAcTB1Vua25vd24xEDAOBgNVBAoTB1Vua25vd24xEDAOBgNVBAsTB1Vua25vd24xEjAQBgNVBAMTCXdyaXRldXNlcjAe" +
    "Fw0yNjEyMDcxNTE1NDJaFw0yNzAzMDcxNTE1NDJaMG4xEDAOBgNVBAYTB1Vua25vd24xEDAOBgNVBAgTB1Vua25vd24xEDAOBgNV" +
    "BAcTB1Vua25vd24xEDAOBgNVBAoTB1Vua25vd24xEDAOBgNVBAsTB1Vua25vd24xEjAQBgNVBAMTCXdyaXRldXNlcjBZMBMGByqG" +
    "SM49AgEGCCqGSM49AwEHA0IABPBwH69OpqmqOX4YqFUOcGCeldKHRgXsBhlYR6zMmX7l17iaQXO0HvWkPS850uHi1nhBg4vamkF7" +
    "GnW00n8MH5WjITAfMB0GA1UdDgQWBBTTfWud+NaUAl5IhMO99oLtTrvNIzAKBggqhkjOPQQDAgNIADBFAiEA4pBtnUKRtv27vpfL" +
    "/u7dIckkgf81257QltrUNH22m9kCIHndBOz0sqWxstQNllScYCMM/xoFzRTfJWy6RQonw73g",
);
const KEYTOOL_SUBJECT = "CN=writeuser,OU=Unknown,O=Unknown,L=Unknown,ST=Unknown,C=Unknown";
const TRICKY = base64(
  "MIICzDCCAnOgAwIBAgIUEPnHdWntRtt2clrlvxmaDevGEtkwCgYIKoZIzj0EAwIwgbsxCzAJBgNVBAYTAlVTMRMwEQYDVQQIDApD" +
    "YWxpZm9ybmlhMRYwFAYDVQQHDA1TYW4gRnJhbmNpc2NvMRMwEQYDVQQKDApBY21lLCBJbmMuMR4wCgYDVQQLDANlbmcwEAYKCZIm" +
    "iZPyLGQBAQwCNDIxJzAlBgNVBAMMHiBhbGljZSAidGhlIGFkbWluIiA8YT1iPjsjMVx4IDEhMB8GCSqGSIb3DQEJARYSYWxpY2VA" +
    "YWNtZS5leGFtcGxlMB4XDTI2MTIwNzE1MTU0MVoXDTI2MTIwODE1MTU0MVowgbsxCzAJBgNVBAYTAlVTMRMwEQYDVQQIDApDYWxp" +
    "Zm9ybmlhMRYwFAYDVQQHDA1TYW4gRnJhbmNpc2NvMRMwEQYDVQQKDApBY21lLCBJbmMuMR4wCgYDVQQLDANlbmcwEAYKCZImiZPy" +
    "LGQBAQwCNDIxJzAlBgNVBAMMHiBhbGljZSAidGhlIGFkbWluIiA8YT1iPjsjMVx4IDEhMB8GCSqGSIb3DQEJARYSYWxpY2VAYWNt" +
    "ZS5leGFtcGxlMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE+gdNGd6q11uBpUcC/n14rd1xseJ6jLco1pf/GgofyUDGzjuBf3rB" +
    "9UmIcEzEPeMKLjieuj5dL1crOi8kbqNkfKNTMFEwHQYDVR0OBBYEFDcnxqdSOMEW4/z76VCXpwaim2avMB8GA1UdIwQYMBaAFDcn" +
    "xqdSOMEW4/z76VCXpwaim2avMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIgbEWSiDkSEy4vXXwP9iIGstFcxtst" +
    "YAa/utq6BMHkStICIGnZEffBhOecGF6xnZgW4YCexg2Jh+SvmPPn5l+l34xq",
);
const TRICKY_SUBJECT =
  '1.2.840.113549.1.9.1=#1612616c6963654061636d652e6578616d706c65,CN=\\ alice \\"the admin\\" \\<a\\=b\\>\\;\\#1\\\\x\\ ,OU=eng+UID=42,O=Acme\\, Inc.,L=San Francisco,ST=California,C=US';
const UTF8_DC_OID = base64(
  "MIICHzCCAcWgAwIBAgIUe490I23yJHKjiRjIlFm0Uf+3CYIwCgYIKoZIzj0EAwIwZTEXMBUGCgmSJomT8ixkARkWB2V4YW1wbGUx" +
    "EzARBgoJkiaJk/IsZAEZFgNjb20xFjAUBgNVBAoMDVpvw6sgw4VzdHLDtm0xDTALBgNVBAUTBDEyMzQxDjAMBgNVBAMMBSNoYXNo" +
    "MB4XDTI2MTIwNzE1MTU0MVoXDTI2MTIwODE1MTU0MVowZTEXMBUGCgmSJomT8ixkARkWB2V4YW1wbGUxEzARBgoJkiaJk/IsZAEZ" +
    "FgNjb20xFjAUBgNVBAoMDVpvw6sgw4VzdHLDtm0xDTALBgNVBAUTBDEyMzQxDjAMBgNVBAMMBSNoYXNoMFkwEwYHKoZIzj0CAQYI" +
    "KoZIzj0DAQcDQgAE+gdNGd6q11uBpUcC/n14rd1xseJ6jLco1pf/GgofyUDGzjuBf3rB9UmIcEzEPeMKLjieuj5dL1crOi8kbqNk" +
    "fKNTMFEwHQYDVR0OBBYEFDcnxqdSOMEW4/z76VCXpwaim2avMB8GA1UdIwQYMBaAFDcnxqdSOMEW4/z76VCXpwaim2avMA8GA1Ud" +
    "EwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIhALR3zXQKlQXWbtO7rG9xsdftjw0ULV8qL9SRO/7tiwX1AiA4svyZRuAPLlkq" +
    "CdMcEaWlePvvNpdJlRlGH01AwubRMQ==",
);
const UTF8_DC_OID_SUBJECT = "CN=\\#hash,2.5.4.5=#130431323334,O=Zoë Åström,DC=com,DC=example";
const PLAIN = base64(
  "MIIBkzCCATmgAwIBAgIUApSxJ1P3jRQlFACErAADdYpYvbEwCgYIKoZIzj0EAwIwHzENMAsGA1UECgwEQWNtZTEOMAwGA1UEAwwF" +
    "YWxpY2UwHhcNMjYxMjA3MTUxNTQxWhcNMjYxMjA4MTUxNTQxWjAfMQ0wCwYDVQQKDARBY21lMQ4wDAYDVQQDDAVhbGljZTBZMBMG" +
    "ByqGSM49AgEGCCqGSM49AwEHA0IABPoHTRneqtdbgaVHAv59eK3dcbHieoy3KNaX/xoKH8lAxs47gX96wfVJiHBMxD3jCi44nro+" +
    "XS9XKzovJG6jZHyjUzBRMB0GA1UdDgQWBBQ3J8anUjjBFuP8++lQl6cGoptmrzAfBgNVHSMEGDAWgBQ3J8anUjjBFuP8++lQl6cG" +
    "optmrzAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQC/qzPkcD9dKBO8xqykKlON/QxlGDVZBW/tEgpqFlrerwIg" +
    "DnWHuh0LBJAzFy30jlM+0eKoru+h72AISVUv95GVZUo=",
);
const PLAIN_SUBJECT = "CN=alice,O=Acme";

describe("certificateSubject()", () => {
  test("prints a keytool certificate as Kafka's docs show it, most specific first", () => {
    assert.equal(KEYTOOL_SUBJECT, "CN=writeuser,OU=Unknown,O=Unknown,L=Unknown,ST=Unknown,C=Unknown");
    assert.equal(certificateSubject(KEYTOOL), KEYTOOL_SUBJECT);
  });

  test("prints a two-attribute openssl subject in reverse DER order", () => {
    assert.equal(certificateSubject(PLAIN), "CN=alice,O=Acme");
    assert.equal(PLAIN_SUBJECT, "CN=alice,O=Acme");
  });

  test("escapes like Java, keeps a multi-valued RDN in DER order and prints emailAddress as OID=#hex", () => {
    assert.equal(certificateSubject(TRICKY), TRICKY_SUBJECT);
  });

  test("decodes UTF-8 and IA5 values, knows DC, and prints serialNumber as OID=#hex", () => {
    assert.equal(certificateSubject(UTF8_DC_OID), UTF8_DC_OID_SUBJECT);
  });

  test("rejects bytes that are not a certificate with a CertificateParseError", () => {
    assert.throws(() => certificateSubject(new Uint8Array([1, 2, 3])), CertificateParseError);
    assert.throws(() => certificateSubject(KEYTOOL.subarray(0, 100)), CertificateParseError);
    assert.throws(() => certificateSubject(new Uint8Array(0)), CertificateParseError);
  });
});

describe("formatNameRfc2253()", () => {
  test("prints an empty Name as the empty string", () => {
    assert.equal(formatNameRfc2253(new Uint8Array([0x30, 0x00])), "");
  });
});

describe("escapeRfc2253Value()", () => {
  test("escapes the special characters, leading and trailing spaces, and NUL", () => {
    assert.equal(escapeRfc2253Value("Acme, Inc."), "Acme\\, Inc.");
    assert.equal(escapeRfc2253Value('a+b=c<d>e#f;g"h\\i'), 'a\\+b\\=c\\<d\\>e\\#f\\;g\\"h\\\\i');
    assert.equal(escapeRfc2253Value("  two  "), "\\ \\ two\\ \\ ");
    assert.equal(escapeRfc2253Value("a\u0000b"), "a\\00b");
    assert.equal(escapeRfc2253Value("plain"), "plain");
  });
});

import BulwarkAPI
import BulwarkJSON
import Crypto
public import Foundation

/// Huawei Cloud's `SDK-HMAC-SHA256` request signature, as the official SDKs send it:
///
///     Authorization: SDK-HMAC-SHA256 Access=AK, SignedHeaders=h1;h2, Signature=HEX
///     X-Sdk-Date: 20261123T165241Z
///
/// The signature is HMAC-SHA256(secret key, string to sign) in lowercase hex, where the
/// string to sign is `SDK-HMAC-SHA256 \n X-Sdk-Date \n hex(SHA256(canonical request))` and
/// the canonical request is `METHOD \n URI \n QUERY \n HEADERS \n SIGNED-HEADERS \n
/// hex(SHA256(body))`: the URI percent-decoded, each segment encoded again (RFC 3986
/// unreserved characters kept) and ending in `/`; the query parameters sorted by name then
/// value, both encoded the same way; each signed header `name:value` (name lowercased,
/// value trimmed), one per line. Path and query come from `CallTarget`, the same reading
/// the gateway authorizes and forwards.
public enum RequestSignature {
    public static let algorithm = "SDK-HMAC-SHA256"
    /// How far `X-Sdk-Date` may be from the gateway's clock, either way.
    public static let allowedClockSkew: TimeInterval = 15 * 60

    /// The parts of an `Authorization` header.
    public struct Header: Sendable, Equatable {
        public let accessKey: String
        public let signedHeaders: [String]
        public let signature: String
    }

    /// Why a request is not authenticated. The message is safe to show to the caller.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// Parses `SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…`.
    public static func parse(authorization: String) throws(Failure) -> Header {
        guard authorization.hasPrefix(algorithm + " ") else {
            throw Failure("the Authorization header must use \(algorithm) (Access=…, SignedHeaders=…, Signature=…)")
        }
        var fields: [String: String] = [:]
        for part in authorization.dropFirst(algorithm.count + 1).split(separator: ",") {
            let trimmed = trim(part)
            guard let eq = trimmed.firstIndex(of: "=") else { throw Failure("malformed Authorization field \"\(trimmed)\"") }
            let name = String(trimmed[..<eq])
            guard fields[name] == nil else { throw Failure("the Authorization header gives \(Excerpt.of(name)) twice") }
            fields[name] = String(trimmed[trimmed.index(after: eq)...])
        }
        guard let access = fields["Access"], !access.isEmpty,
            let signed = fields["SignedHeaders"], !signed.isEmpty,
            let signature = fields["Signature"], signature.count == 64, signature.allSatisfy(\.isHexDigit)
        else { throw Failure("the Authorization header needs Access, SignedHeaders and a 64-digit hex Signature") }
        return Header(accessKey: access, signedHeaders: signed.split(separator: ";").map { $0.lowercased() }, signature: signature.lowercased())
    }

    /// The canonical request of SDK-HMAC-SHA256. `headers` are (name, value) pairs as
    /// received. The payload hash is always computed from `body`: a client's
    /// `X-Sdk-Content-Sha256` is checked against it, never used in its place.
    public static func canonicalRequest(
        method: String, target: CallTarget, headers: [(String, String)], signedHeaders: [String], body: [UInt8]
    ) throws(Failure) -> String {
        var values: [String: String] = [:]
        for (name, value) in headers {
            let key = name.lowercased()
            // Repeated headers are joined with commas, as HTTP allows.
            let trimmed = trim(value[...])
            values[key] = values[key].map { "\($0),\(trimmed)" } ?? trimmed
        }
        var canonicalHeaders = ""
        for name in signedHeaders {
            guard let value = values[name] else { throw Failure("signed header \"\(Excerpt.of(name))\" is missing from the request") }
            canonicalHeaders += "\(name):\(value)\n"
        }
        let payload = hex(SHA256.hash(data: body))
        if let declared = values["x-sdk-content-sha256"] {
            guard declared != "UNSIGNED-PAYLOAD" else {
                throw Failure("unsigned payloads are refused: the body feeds authorization, so it must be signed")
            }
            guard declared.lowercased() == payload else {
                throw Failure("X-Sdk-Content-Sha256 does not match the body received")
            }
        }
        return [method.uppercased(), target.canonicalURI, target.canonicalQuery, canonicalHeaders, signedHeaders.joined(separator: ";"), payload]
            .joined(separator: "\n")
    }

    /// The canonical request of a raw path and query (as a client signs them).
    public static func canonicalRequest(
        method: String, path: String, query: String, headers: [(String, String)], signedHeaders: [String], body: [UInt8]
    ) throws(Failure) -> String {
        let target: CallTarget
        do { target = try CallTarget(path: path, query: query) } catch { throw Failure(error.description) }
        return try canonicalRequest(method: method, target: target, headers: headers, signedHeaders: signedHeaders, body: body)
    }

    /// Who a call claims to be, from its headers alone (before any body is read): the
    /// `Authorization` header parsed, the access key known, the date within the window.
    public static func authenticateHeaders(
        authorization: String?, headers: [(String, String)], credentials: CredentialStore, now: Date
    ) throws(Failure) -> (header: Header, credential: CredentialStore.Entry) {
        guard let authorization else {
            throw Failure("the Authorization header is missing; sign requests with SDK-HMAC-SHA256")
        }
        let header = try parse(authorization: authorization)
        guard let credential = credentials[header.accessKey] else {
            throw Failure("unknown access key \(Excerpt.of(header.accessKey))")
        }
        try checkHeaders(header, headers: headers, now: now)
        try checkSecurityToken(header, credential: credential, headers: headers)
        return (header, credential)
    }

    /// Temporary credentials need their security token, once, signed and equal (in constant
    /// time); permanent ones must not carry one.
    static func checkSecurityToken(_ header: Header, credential: CredentialStore.Entry, headers: [(String, String)]) throws(Failure) {
        let tokens = headers.filter { $0.0.lowercased() == "x-security-token" }
        guard let expected = credential.securityToken else {
            if !tokens.isEmpty { throw Failure("X-Security-Token was sent with \(credential.accessKey), which is not a temporary access key") }
            return
        }
        guard tokens.count == 1 else {
            throw Failure(
                tokens.isEmpty
                    ? "access key \(credential.accessKey) is temporary: the X-Security-Token header is missing"
                    : "X-Security-Token is given \(tokens.count) times; give it once")
        }
        guard header.signedHeaders.contains("x-security-token") else {
            throw Failure("SignedHeaders must include x-security-token for a temporary access key")
        }
        guard ConstantTime.equal(Array(tokens[0].1.utf8), Array(expected.utf8)) else {
            throw Failure("the security token is not the one of access key \(credential.accessKey)")
        }
    }

    /// What can be checked before the body is read: the signed headers named, the date
    /// present and within `allowedClockSkew`.
    public static func checkHeaders(_ header: Header, headers: [(String, String)], now: Date) throws(Failure) {
        for required in ["host", "x-sdk-date"] where !header.signedHeaders.contains(required) {
            throw Failure("SignedHeaders must include \(required)")
        }
        let dates = headers.filter { $0.0.lowercased() == "x-sdk-date" }
        guard let dateText = dates.first?.1 else { throw Failure("the X-Sdk-Date header is missing") }
        guard dates.count == 1 else { throw Failure("X-Sdk-Date is given \(dates.count) times; give it once") }
        guard let date = parseDate(dateText) else {
            throw Failure("X-Sdk-Date \"\(Excerpt.of(dateText))\" is not of the form 20261123T165241Z")
        }
        guard abs(date.timeIntervalSince(now)) <= allowedClockSkew else {
            throw Failure("X-Sdk-Date \(dateText) is more than \(Int(allowedClockSkew / 60)) minutes from the gateway's clock")
        }
    }

    /// Checks a request's signature with the caller's secret key, in constant time.
    public static func verify(
        _ header: Header, secretKey: String, method: String, target: CallTarget,
        headers: [(String, String)], body: [UInt8], now: Date
    ) throws(Failure) {
        try checkHeaders(header, headers: headers, now: now)
        let dateText = headers.first { $0.0.lowercased() == "x-sdk-date" }!.1  // checkHeaders proved it is there
        let canonical = try canonicalRequest(method: method, target: target, headers: headers, signedHeaders: header.signedHeaders, body: body)
        let expected = signature(canonicalRequest: canonical, date: dateText, secretKey: secretKey)
        guard ConstantTime.equal(Array(header.signature.utf8), Array(expected.utf8)) else {
            throw Failure("the signature does not match the request")
        }
    }

    /// The same check for a raw path and query.
    public static func verify(
        _ header: Header, secretKey: String, method: String, path: String, query: String,
        headers: [(String, String)], body: [UInt8], now: Date
    ) throws(Failure) {
        let target: CallTarget
        do { target = try CallTarget(path: path, query: query) } catch { throw Failure(error.description) }
        try verify(header, secretKey: secretKey, method: method, target: target, headers: headers, body: body, now: now)
    }

    /// The headers a client adds to sign a call (SPEC §12, §13): `X-Sdk-Date`, `Authorization`,
    /// and `X-Security-Token` for temporary credentials. `headers` are the call's other headers;
    /// `host` (with the port when it is not the scheme's default) is always signed.
    public static func sign(
        method: String, host: String, path: String, query: String, headers: [(String, String)] = [], body: [UInt8] = [],
        accessKey: String, secretKey: String, securityToken: String? = nil, now: Date
    ) throws(Failure) -> [(String, String)] {
        let date = formatDate(now)
        var added: [(String, String)] = [("X-Sdk-Date", date)]
        if let securityToken { added.append(("X-Security-Token", securityToken)) }
        let all = [("Host", host)] + headers + added
        let signed = Array(Set(all.map { $0.0.lowercased() })).sorted()
        let canonical = try canonicalRequest(method: method, path: path, query: query, headers: all, signedHeaders: signed, body: body)
        let signature = signature(canonicalRequest: canonical, date: date, secretKey: secretKey)
        added.append(("Authorization", "\(algorithm) Access=\(accessKey), SignedHeaders=\(signed.joined(separator: ";")), Signature=\(signature)"))
        return added
    }

    /// `20261123T165241Z`: the date in UTC as `X-Sdk-Date` carries it.
    public static func formatDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        func two(_ n: Int?) -> String { n.map { $0 < 10 ? "0\($0)" : "\($0)" } ?? "00" }
        return "\(c.year ?? 1970)\(two(c.month))\(two(c.day))T\(two(c.hour))\(two(c.minute))\(two(c.second))Z"
    }

    /// HMAC-SHA256 of the string to sign, in lowercase hex (what a client computes).
    public static func signature(canonicalRequest: String, date: String, secretKey: String) -> String {
        let stringToSign = "\(algorithm)\n\(date)\n\(hex(SHA256.hash(data: Array(canonicalRequest.utf8))))"
        let mac = HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: SymmetricKey(data: Array(secretKey.utf8)))
        return hex(mac)
    }

    // MARK: Canonical forms

    /// Spaces and tabs cut from both ends (Foundation's trimming bridges through NSString on Linux).
    static func trim(_ text: Substring) -> String {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = text.firstIndex(where: { !isBlank($0) }), let last = text.lastIndex(where: { !isBlank($0) }) else { return "" }
        return String(text[first...last])
    }

    /// `20261123T165241Z` (UTC) as a date; nil unless exactly that form.
    public static func parseDate(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for b in bytes[range] {
                guard b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int(b - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
            let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60
        else { return nil }
        // Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return Date(timeIntervalSince1970: TimeInterval(days * 86_400 + hour * 3600 + minute * 60 + second))
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

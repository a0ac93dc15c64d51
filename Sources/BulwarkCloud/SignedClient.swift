import AsyncHTTPClient
import BulwarkAPI
import BulwarkEnforcement
public import Foundation
import NIOCore
import NIOHTTP1

/// Calls a Huawei Cloud endpoint as the official SDKs do: each request signed with
/// SDK-HMAC-SHA256 (and `X-Security-Token` for temporary keys); throttling (429) and server
/// errors (5xx) retried with exponential backoff up to `attempts`; every failure one line
/// naming the call.
public final class SignedClient: Sendable {
    public let endpoint: URL
    private let credentials: CloudCredentials
    private let http: HTTPClient
    private let attempts: Int
    private let timeout: TimeAmount
    /// Bodies larger than this are refused (a schema is tens of kilobytes).
    private let maxBodyBytes: Int

    public init(
        endpoint: String, credentials: CloudCredentials, attempts: Int = 4, timeoutSeconds: Int64 = 30, maxBodyBytes: Int = 32 << 20
    ) throws(CloudError) {
        guard let url = URL(string: endpoint), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw CloudError("--endpoint \(endpoint) is not an http(s) URL")
        }
        self.endpoint = url
        self.credentials = credentials
        self.attempts = max(1, attempts)
        self.timeout = .seconds(timeoutSeconds)
        self.maxBodyBytes = maxBodyBytes
        self.http = HTTPClient(eventLoopGroupProvider: .singleton)
    }

    /// Closes the connections; call once, when done.
    public func shutdown() async {
        try? await http.shutdown()
    }

    /// The Host header the signature covers: the port only when it is not the scheme's default.
    var hostHeader: String {
        let host = endpoint.host!
        guard let port = endpoint.port else { return host }
        return (endpoint.scheme == "https" && port == 443) || (endpoint.scheme == "http" && port == 80) ? host : "\(host):\(port)"
    }

    /// `GET path?query` signed; the body of a 2xx answer.
    public func get(_ path: String, query: [(String, String)] = [], headers: [(String, String)] = []) async throws(CloudError) -> [UInt8] {
        try await send("GET", path, query: query, headers: headers)
    }

    /// A signed call; the body of a 2xx answer. `headers` are signed too (`X-Domain-Id`,
    /// `X-Project-Id`). Throttling and server errors are retried; other errors are not.
    public func send(
        _ method: String, _ path: String, query: [(String, String)] = [], body: [UInt8] = [], headers: [(String, String)] = []
    ) async throws(CloudError) -> [UInt8] {
        let queryText = query.map { "\(PercentCoding.encode($0.0))=\(PercentCoding.encode($0.1))" }.joined(separator: "&")
        let call = "\(method) \(path)\(queryText.isEmpty ? "" : "?" + queryText)"
        var delay: Duration = .milliseconds(200)
        let sent = [("Content-Type", "application/json")] + headers
        for attempt in 1...attempts {
            let signed: [(String, String)]
            do {
                signed = try RequestSignature.sign(
                    method: method, host: hostHeader, path: path, query: queryText, headers: sent, body: body,
                    accessKey: credentials.accessKey, secretKey: credentials.secretKey, securityToken: credentials.securityToken, now: Date())
            } catch {
                throw CloudError("\(call): cannot sign the request: \(error)")
            }
            var base = endpoint.absoluteString
            if base.hasSuffix("/") { base.removeLast() }
            var request = HTTPClientRequest(url: base + path + (queryText.isEmpty ? "" : "?" + queryText))
            request.method = HTTPMethod(rawValue: method)
            request.headers.add(name: "Host", value: hostHeader)
            for (name, value) in sent + signed { request.headers.add(name: name, value: value) }
            if !body.isEmpty { request.body = .bytes(ByteBuffer(bytes: body)) }
            let status: UInt
            let answer: [UInt8]
            do {
                let response = try await http.execute(request, timeout: timeout)
                status = response.status.code
                answer = Array(try await response.body.collect(upTo: maxBodyBytes).readableBytesView)
            } catch {
                if attempt < attempts {
                    try? await Task.sleep(for: delay)
                    delay *= 2
                    continue
                }
                let reason =
                    (error as? HTTPClientError) == .deadlineExceeded ? "no answer within \(timeout.nanoseconds / 1_000_000_000) s" : "\(error)"
                throw CloudError("\(call): \(reason) (after \(attempts) attempts)")
            }
            if (200..<300).contains(status) { return answer }
            let retryable = status == 429 || status >= 500
            if retryable && attempt < attempts {
                try? await Task.sleep(for: delay)
                delay *= 2
                continue
            }
            let detail = String(decoding: answer.prefix(300), as: UTF8.self).replacingOccurrences(of: "\n", with: " ")
            throw CloudError("\(call): HTTP \(status)\(retryable ? " after \(attempts) attempts" : ""): \(detail)", status: Int(status))
        }
        throw CloudError("\(call): no attempt made")
    }
}

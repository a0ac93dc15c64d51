import Hummingbird
public import HummingbirdCore
import HummingbirdTLS
import NIOSSL

/// `--tls-cert` and `--tls-key`: PEM files for serving HTTPS (swift-nio-ssl).
public struct TLSFiles: Sendable {
    public let certificatePath: String
    public let keyPath: String

    public init(certificatePath: String, keyPath: String) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
    }

    /// `base` (an HTTP/1.1 server), wrapped in TLS when files are given.
    public static func serverBuilder(_ files: TLSFiles?, base: HTTPServerBuilder) throws -> HTTPServerBuilder {
        guard let files else { return base }
        let chain = try NIOSSLCertificate.fromPEMFile(files.certificatePath).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: files.keyPath, format: .pem)
        return try .tls(base, tlsConfiguration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
    }
}

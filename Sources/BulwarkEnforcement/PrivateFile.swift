import Foundation

/// A file of secrets (access keys) that must be private to its owner: read only when group
/// and others have no access to it (mode 600 or stricter), as SSH does with private keys.
public enum PrivateFile {
    /// The file's bytes, or one line saying why it is refused (unreadable, or readable by others).
    public static func read(_ path: String, what: String = "credentials file") -> Result<[UInt8], RefusedFile> {
        // Safe: a failure to stat or read is the refusal below.
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let data = FileManager.default.contents(atPath: path)
        else { return .failure(RefusedFile(description: "\(path): cannot read the \(what)")) }
        // A mode that cannot be read is not a private file.
        guard let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue else {
            return .failure(RefusedFile(description: "\(path): cannot read the \(what)'s permissions"))
        }
        if mode & 0o077 != 0 {
            return .failure(
                RefusedFile(description: "\(path): the \(what) is readable by others (mode \(String(mode, radix: 8))); run chmod 600 \(path)"))
        }
        return .success(Array(data))
    }

    /// Why a private file is refused.
    public struct RefusedFile: Error, Sendable, CustomStringConvertible {
        public let description: String
    }
}

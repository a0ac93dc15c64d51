import BulwarkJSON
import Foundation
public import Logging

/// A swift-log handler writing one JSON object per line to standard error:
/// `{"time", "level", "label", "message", ...metadata}`, for log collectors.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String

    public init(label: String) { self.label = label }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var json = JSONWriter()
        json.beginObject()
        json.field("time", Date().formatted(.iso8601))
        json.field("level", event.level.rawValue)
        json.field("label", label)
        json.field("message", event.message.description)
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        for key in merged.keys.sorted() { json.field(key, merged[key]!.description) }
        json.endObject()
        json.newline()
        FileHandle.standardError.write(Data(json.bytes))
    }
}

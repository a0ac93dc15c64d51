import Foundation

/// How both pulls write (`catalog pull`, `pull`): the files go into a temporary sibling of
/// the folder first; then each entry the pull owns is swapped in by renaming, the old one set
/// aside and put back if a rename fails. A failed pull never leaves a half-written folder, and
/// entries the pull does not own are never touched.
enum StagedWrite {
    /// `files` are relative paths → contents; `owned` are the folder's top-level entries the
    /// pull replaces (an owned entry absent from `files` is removed).
    static func write(_ files: [String: [UInt8]], into directory: String, owning owned: [String], what: String) throws(CloudError) {
        let manager = FileManager.default
        let target = URL(fileURLWithPath: directory).standardizedFileURL
        let parent = target.deletingLastPathComponent()
        let staging = parent.appendingPathComponent(".\(target.lastPathComponent).pull-\(UUID().uuidString)")
        let old = parent.appendingPathComponent(".\(target.lastPathComponent).old-\(UUID().uuidString)")
        defer {
            try? manager.removeItem(at: staging)
            try? manager.removeItem(at: old)
        }
        do {
            try manager.createDirectory(at: staging, withIntermediateDirectories: true)
            for (path, bytes) in files.sorted(by: { $0.key < $1.key }) {
                let url = staging.appendingPathComponent(path)
                try manager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(bytes).write(to: url)
            }
            try manager.createDirectory(at: target, withIntermediateDirectories: true)
            try manager.createDirectory(at: old, withIntermediateDirectories: true)
        } catch {
            throw CloudError("cannot write \(what) into \(directory): \(error.localizedDescription)")
        }
        var setAside: [String] = []
        var placed: [String] = []
        do {
            for name in owned where manager.fileExists(atPath: target.appendingPathComponent(name).path) {
                try manager.moveItem(at: target.appendingPathComponent(name), to: old.appendingPathComponent(name))
                setAside.append(name)
            }
            for name in owned where manager.fileExists(atPath: staging.appendingPathComponent(name).path) {
                try manager.moveItem(at: staging.appendingPathComponent(name), to: target.appendingPathComponent(name))
                placed.append(name)
            }
        } catch {
            // Put back what was there: the folder is as it was before the pull.
            for name in placed { try? manager.removeItem(at: target.appendingPathComponent(name)) }
            for name in setAside { try? manager.moveItem(at: old.appendingPathComponent(name), to: target.appendingPathComponent(name)) }
            throw CloudError("cannot write \(what) into \(directory): \(error.localizedDescription)")
        }
    }
}

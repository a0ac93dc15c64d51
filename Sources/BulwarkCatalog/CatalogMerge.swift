import BulwarkJSON
import Foundation
import Synchronization

/// A catalog file given by the user: a Huawei authorization schema or a service in Bulwark's format.
public struct CatalogFile: Sendable, Hashable {
    /// Its path (or name), for messages.
    public let name: String
    public let bytes: [UInt8]

    public init(name: String, bytes: [UInt8]) {
        self.name = name
        self.bytes = bytes
    }
}

/// A catalog with user catalogs merged in, and what the merge noticed.
public struct LoadedCatalog: Sendable {
    public let catalog: Catalog
    /// One line each, for standard error: the built-in catalogs user catalogs replaced.
    public let notices: [String]
}

extension Catalog {
    /// The `.json` files of catalog directories, at their top level and in `services/`, sorted by path.
    public static func files(inDirectories directories: [String]) throws(CatalogErrors) -> [CatalogFile] {
        var files: [CatalogFile] = []
        var problems: [CatalogProblem] = []
        for directory in directories {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                problems.append(CatalogProblem(file: directory, location: nil, message: "is not a catalog directory"))
                continue
            }
            // Paths as the user wrote them, so messages name files the way they know them.
            let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
            var paths: [String] = []
            for folder in [base, base + "/services"] {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
                paths += names.filter { $0.hasSuffix(".json") }.map { folder + "/" + $0 }
            }
            // Read on every core, like the schemas they hold.
            let sorted = paths.sorted()
            let read = onEveryCore(sorted.count) { readWholeFile(sorted[$0]) }
            for (i, path) in sorted.enumerated() {
                guard let bytes = read[i] else {
                    problems.append(CatalogProblem(file: path, location: nil, message: "cannot read the file"))
                    continue
                }
                files.append(CatalogFile(name: path, bytes: bytes))
            }
        }
        if !problems.isEmpty { throw CatalogErrors(problems) }
        return files
    }

    /// This catalog with the services of `files` merged in (SPEC §12): a user catalog for a
    /// service this catalog has replaces it (a schema keeps the replaced service's API rows,
    /// request fields and referenced actions, which schemas cannot carry); the same service in
    /// two files is an error naming both. Any problem in any file: every problem, nothing merged.
    public func merging(_ files: [CatalogFile]) throws(CatalogErrors) -> LoadedCatalog {
        if files.isEmpty { return LoadedCatalog(catalog: self, notices: []) }
        var problems: [CatalogProblem] = []
        var added: [(service: ServiceCatalog, fromSchema: Bool)] = []
        var dependents: [(file: Int, operation: String, action: String, offset: Int, path: JSONPath)] = []
        var definedIn: [String: String] = [:]
        // Schemas are read on every core: a command may load dozens before it starts.
        let globalKeys = self.globalKeys
        let read = onEveryCore(files.count) { i in
            var schema = HuaweiSchemaReader(file: files[i].name, globalKeys: globalKeys)
            return (schema.read(files[i].bytes), schema)
        }
        for (i, file) in files.enumerated() {
            let service: ServiceCatalog
            let (result, schema) = read[i]
            switch result {
            case .success(let read):
                service = read
                dependents += schema.dependentReferences.map { (i, $0.operation, $0.action, $0.offset, $0.path) }
            case .failure(let errors) where !schema.isBulwarkFormat:
                problems += errors.problems
                continue
            case .failure:
                // A top-level `name`: a service in Bulwark's own format.
                do {
                    let (read, issues) = try Self.bulwarkService(file.bytes, file: file.name, name: file.name)
                    problems += issues.filter { $0.severity == .error }.map { CatalogProblem(file: file.name, location: nil, message: $0.message) }
                    service = read
                } catch {
                    problems.append(CatalogProblem(file: file.name, location: error.location, message: error.message))
                    continue
                }
            }
            let folded = Self.fold(service.name)
            if let first = definedIn[folded] {
                problems.append(
                    CatalogProblem(file: file.name, location: nil, message: "service \(service.name) is also defined in \(first); keep one of them"))
                continue
            }
            definedIn[folded] = file.name
            added.append((service, !schema.isBulwarkFormat))
        }
        if !problems.isEmpty { throw CatalogErrors(problems) }

        var notices: [String] = []
        var merged = services
        var schemaChecked: Set<Int> = []
        let builtInIndex = Dictionary(services.enumerated().map { (Self.fold($0.element.name), $0.offset) }, uniquingKeysWith: { a, _ in a })
        for (var service, fromSchema) in added {
            if let i = builtInIndex[Self.fold(service.name)] {
                let replaced = merged[i]
                if service.apis.isEmpty && service.requestFields.isEmpty {
                    service = ServiceCatalog(
                        name: service.name, title: replaced.title, updated: service.updated, resourceTypes: service.resourceTypes,
                        conditionKeys: service.conditionKeys, actions: service.actions, apis: replaced.apis,
                        referencedActions: replaced.referencedActions, requestFields: replaced.requestFields,
                        operations: service.operations, source: service.source)
                }
                notices.append(
                    "notice: \(service.source) replaces the built-in \(replaced.name) catalog (\(replaced.updated) → \(service.updated))")
                merged[i] = service
                if fromSchema { schemaChecked.insert(i) }
            } else {
                if fromSchema { schemaChecked.insert(merged.count) }
                merged.append(service)
            }
        }
        let userFiles = Set(added.map(\.service.source))
        let catalog = Catalog(services: merged, globalKeys: globalKeys, issues: issues)
        for issue in Self.check(
            services: merged, globalKeys: globalKeys, fileNames: merged.map(\.source), schemaChecked: schemaChecked, merged: catalog)
        where issue.severity == .error && userFiles.contains(issue.file) {
            problems.append(CatalogProblem(file: issue.file, location: nil, message: issue.message))
        }
        let unknown = dependents.filter { !catalog.isKnownAction($0.action) && catalog.action(aliased: $0.action) == nil }
        for (i, references) in Dictionary(grouping: unknown, by: \.file).sorted(by: { $0.key < $1.key }) {
            let locations = JSONReader.locations(ofOffsets: references.map(\.offset), in: files[i].bytes)
            for (reference, location) in zip(references, locations) {
                problems.append(
                    CatalogProblem(
                        file: files[i].name, path: reference.path, location: location,
                        message: "operation \(reference.operation) depends on \(reference.action), which no catalog defines"))
            }
        }
        if !problems.isEmpty { throw CatalogErrors(problems) }
        return LoadedCatalog(catalog: catalog, notices: notices)
    }
}

/// The bytes of a regular file, read straight into an array (no `Data` copy: dozens of schema
/// files are read at every command's start); nil when it cannot be opened or read.
private func readWholeFile(_ path: String) -> [UInt8]? {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var status = stat()
    guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
    var bytes: [UInt8] = []
    var chunk = max(Int(status.st_size), 0) + 1
    // Read until end of file: the file may grow between fstat and read.
    while true {
        let start = bytes.count
        bytes.reserveCapacity(start + chunk)
        bytes.append(contentsOf: repeatElement(0, count: chunk))
        let got = bytes.withUnsafeMutableBufferPointer { buffer in read(descriptor, buffer.baseAddress! + start, chunk) }
        if got < 0 && errno == EINTR {
            bytes.removeLast(chunk)
            continue
        }
        guard got >= 0 else { return nil }
        bytes.removeLast(chunk - got)
        if got == 0 { return bytes }
        chunk = 64 * 1024
    }
}

/// `(0..<count).map(body)`, the calls spread over every core (catalog files are few and each
/// is much work, so every index is its own task), results in index order.
private func onEveryCore<R: Sendable>(_ count: Int, _ body: @Sendable (Int) -> R) -> [R] {
    let results = Mutex<[Int: R]>([:])
    DispatchQueue.concurrentPerform(iterations: count) { i in
        let result = body(i)
        results.withLock { $0[i] = result }
    }
    return results.withLock { done in (0..<count).map { done[$0]! } }
}

import BulwarkJSON
import BulwarkOrganization
public import BulwarkStore
public import BulwarkWorkspace

/// A workspace (SPEC §5) turned into a store's state in one step: `PUT /v1/organization/import`
/// and `bulwark serve --import DIR`.
///
/// The state is built by running, on an empty state, the commands the management API would
/// run for the same organization (create the tree, SCPs, policies, groups, users and agencies,
/// then attach), so an imported organization passes every check a hand-built one does:
/// identifiers, limits, policy validation. Nothing is written unless all of it passes.
public enum OrganizationImport {
    /// What an import made.
    public struct Result: Sendable {
        public let state: OrganizationState
        /// Policy files whose store id is not their name (the name is used in several accounts,
        /// or by an SCP): file → id.
        public let renamed: [String: String]
    }

    /// Why a workspace cannot be imported: every problem, each `FILE:LINE:COL: message`.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let problems: [String]
        public var description: String {
            "the workspace cannot be imported (\(problems.count) problem\(problems.count == 1 ? "" : "s")): " + (problems.first ?? "")
        }
    }

    /// Builds the state of `workspace`. Identity policy ids are global in a store, names only
    /// per account in a workspace: a name used in one account only keeps its name, a name used
    /// in several accounts (or by an SCP) becomes `NAME.ACCOUNT` in each.
    public static func state(of workspace: Workspace, context: CommandContext) throws(Failure) -> Result {
        guard workspace.problems.isEmpty else { throw Failure(problems: workspace.problems.map(\.description)) }
        guard let root = workspace.nodes["root"] else {
            throw Failure(problems: ["organization.yaml:1:1: an import needs the organization tree (organization.yaml)"])
        }
        var builder = Builder(context: context)
        builder.run(
            .setOrganization(id: workspace.organizationID, rootID: root.id, managementAccount: nil, scpsEnabled: workspace.scpsEnabled),
            in: "organization.yaml")

        // The tree, parents first.
        func depth(_ node: OrganizationNode) -> Int { workspace.organization.path(to: node.name).count }
        for node in workspace.nodes.values.filter({ $0.kind != .root }).sorted(by: { (depth($0), $0.name) < (depth($1), $1.name) }) {
            builder.run(
                .addNode(kind: node.kind == .ou ? .ou : .account, name: node.name, id: node.id, parent: node.parent ?? "root"),
                in: "organization.yaml")
        }
        for (name, scp) in workspace.scps.sorted(by: { $0.key < $1.key }) where name != OrganizationState.fullAccessID {
            builder.run(.createSCP(id: name, description: "", document: document(scp.id, workspace)), in: scp.id)
        }
        // SCP attachments: the store gives every node FullAccess; with SCPs on, the workspace
        // says where it stays (`detachFullAccess`). A node keeps at least one SCP.
        for name in workspace.nodes.keys.sorted() {
            let wanted = workspace.attachments[name] ?? []
            for scp in wanted where scp != OrganizationState.fullAccessID {
                builder.run(.attach(policy: scp, target: name), in: "organization.yaml")
            }
            if workspace.scpsEnabled, !wanted.contains(OrganizationState.fullAccessID), !wanted.isEmpty {
                builder.run(.detach(policy: OrganizationState.fullAccessID, target: name), in: "organization.yaml")
            }
        }

        // Identity policy ids.
        var owners: [String: Int] = [:]
        for iam in workspace.accounts.values { for name in iam.policies.keys { owners[name, default: 0] += 1 } }
        func id(of name: String, in account: String) -> String {
            owners[name, default: 0] > 1 || workspace.scps[name] != nil ? "\(name).\(account)" : name
        }
        var renamed: [String: String] = [:]

        for (account, iam) in workspace.accounts.sorted(by: { $0.key < $1.key }) {
            guard let node = workspace.nodes[account] else { continue }
            let accountFile = "accounts/\(account)/account.yaml"
            for (name, policy) in iam.policies.sorted(by: { $0.key < $1.key }) {
                let storeID = id(of: name, in: account)
                if storeID != name { renamed[policy.id] = storeID }
                builder.run(.createPolicy(id: storeID, account: node.id, description: "", document: document(policy.id, workspace)), in: policy.id)
            }
            for (group, policies) in iam.groups.sorted(by: { $0.key < $1.key }) {
                builder.run(.addPrincipal(kind: .group, account: node.id, name: group, id: group, groups: []), in: accountFile)
                for policy in policies {
                    builder.run(.attach(policy: id(of: policy, in: account), target: "iam::\(node.id):group:\(group)"), in: accountFile)
                }
            }
            for principal in iam.principals {
                let kind: StoredPrincipal.Kind = principal.kind == .user ? .user : .agency
                let trust = principal.trustPolicy.flatMap { iam.trustPolicies[$0] }.map { document($0.id, workspace) }
                builder.run(
                    .addPrincipal(
                        kind: kind, account: node.id, name: principal.name, id: principal.id, groups: principal.groups,
                        settings: PrincipalSettings(tags: principal.tags, trustPolicy: trust, maxSessionDuration: principal.maxSessionDuration)),
                    in: accountFile)
                for policy in principal.policies {
                    builder.run(
                        .attach(policy: id(of: policy, in: account), target: "iam::\(node.id):\(kind.rawValue):\(principal.name)"), in: accountFile)
                }
            }
        }
        if let management = workspace.managementAccount {
            builder.run(
                .setOrganization(id: workspace.organizationID, rootID: root.id, managementAccount: management, scpsEnabled: workspace.scpsEnabled),
                in: "organization.yaml")
        }
        guard builder.problems.isEmpty else { throw Failure(problems: builder.problems) }
        return Result(state: builder.state, renamed: renamed)
    }

    private static func document(_ file: String, _ workspace: Workspace) -> SubmittedDocument {
        SubmittedDocument(text: workspace.documents[file] ?? "", origin: nil, path: .root)
    }

    /// Runs commands on a state, collecting what they refuse (with the file it came from).
    private struct Builder {
        let context: CommandContext
        var state = OrganizationState()
        var problems: [String] = []

        mutating func run(_ command: ManagementCommand, in file: String) {
            // After a refusal later commands may fail only because of it: report the first.
            guard problems.isEmpty else { return }
            do { state = try state.applying(command, context: context).state } catch {
                let located = error.findings.first.map { " (line \($0.location.line), column \($0.location.column))" } ?? ""
                problems.append("\(file):1:1: \(error.message)\(located)")
            }
        }
    }
}

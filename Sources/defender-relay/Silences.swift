import ArgumentParser
import Foundation
import Relay
import RelayConfig
import SNS
import Storage

/// `defender-relay silences`: the same silences `/api/v1/silences` manages, in the store every
/// replica reads.
struct Silences: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Silence a check's findings for a while: they are stored and shown, but alert nobody.",
        subcommands: [Add.self, List.self, Expire.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Silence a check, in one account, region or scheduled audit when given.")

        @Option(help: "The check's name, e.g. DEVICE_CERTIFICATE_SHARED_CHECK.") var check: String
        @Option(help: "Only this 12-digit account.") var account: String?
        @Option(help: "Only this region, e.g. eu-west-1.") var region: String?
        @Option(name: .customLong("scheduled-audit"), help: "Only scheduled audits whose name matches this * glob.") var scheduledAudit: String?
        @Option(name: .customLong("for"), help: "How long: 2h, 7d (at most 366d).") var duration: String
        @Option(help: "Why, for whoever finds the silence later.") var comment: String
        @Option(name: .customLong("created-by"), help: "Who silenced it (default: $USER).") var createdBy: String?
        @Flag(help: "Print JSON instead of a sentence.") var json = false
        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            let configuration = try options.load()
            let silence: Silence
            do throws(SilenceRequestError) {
                silence = try Silence.requested(
                    check: check, account: account, region: region, scheduledAudit: scheduledAudit, duration: duration, comment: comment,
                    createdBy: createdBy ?? ProcessInfo.processInfo.environment["USER"], id: UUID().uuidString.lowercased(),
                    now: RelayClock.now().millisecondsSince1970
                )
            } catch {
                throw CommandFailure("Not silenced: \(error)")
            }
            let added = try await StoreFactory.withStore(url: configuration.storage.url, logger: RelayLogging.quiet()) { store in
                try await store.addSilence(silence)
            }
            guard added else { throw CommandFailure("Not silenced: \(Silence.maxActive) silences are in effect already; expire some first.") }
            if json { return try JSONOutput.print(APIModels.SilenceInfo(silence)) }
            print("Silenced \(silence.checkName) until \(SNSInstant(millisecondsSince1970: silence.endsAt)) (id \(silence.id)).")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the silences in effect (--all: ended and expired ones too).")

        @Flag(help: "Also silences that ended or were expired.") var all = false
        @Flag(help: "Print JSON instead of a table.") var json = false
        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            let configuration = try options.load()
            let silences = try await StoreFactory.withStore(url: configuration.storage.url, logger: RelayLogging.quiet()) { store in
                try await store.silences(includeEnded: all, at: RelayClock.now().millisecondsSince1970)
            }
            if json { return try JSONOutput.print(APIModels.SilenceList(silences)) }
            guard !silences.isEmpty else { return print(all ? "No silences." : "No silences in effect.") }
            let rows = silences.map { silence in
                [silence.id, silence.checkName, silence.accountID ?? "*", silence.region ?? "*", silence.scheduledAuditName ?? "*",
                 SNSInstant(millisecondsSince1970: silence.expiredAt.map { min($0, silence.endsAt) } ?? silence.endsAt).description, silence.createdBy ?? "-", silence.comment]
            }
            print(TextTable.render(header: ["ID", "CHECK", "ACCOUNT", "REGION", "SCHEDULED AUDIT", "ENDS", "BY", "COMMENT"], rows: rows))
        }
    }

    struct Expire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a silence now.")

        @Argument(help: "The silence's id (silences list).") var id: String
        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            let configuration = try options.load()
            let expired = try await StoreFactory.withStore(url: configuration.storage.url, logger: RelayLogging.quiet()) { store in
                try await store.expireSilence(id: id, at: RelayClock.now().millisecondsSince1970)
            }
            guard expired else { throw CommandFailure("No silence '\(id.prefix(64))' is in effect.") }
            print("Expired silence \(id).")
        }
    }
}

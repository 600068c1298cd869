import Foundation
import DeviceDefender

/// A silence: findings of one check (in one account, region or scheduled audit, when given)
/// are stored and shown but alert nobody until `endsAt`. Silences live in the store, so every
/// replica applies the same ones, and end by themselves.
public struct Silence: Sendable, Equatable, Codable {
    public var id: String
    /// The check's current API name (`DEVICE_CERTIFICATE_SHARED_CHECK`; an older alias in a
    /// payload is matched by its current name).
    public var checkName: String
    public var accountID: String?
    public var region: String?
    /// A `*` glob on the scheduled audit's name.
    public var scheduledAuditName: String?
    /// Epoch milliseconds.
    public var startsAt: Int64
    public var endsAt: Int64
    public var comment: String
    public var createdBy: String?
    public var createdAt: Int64
    /// Set when someone expired the silence before `endsAt`.
    public var expiredAt: Int64?

    public init(
        id: String, checkName: String, accountID: String? = nil, region: String? = nil, scheduledAuditName: String? = nil, startsAt: Int64,
        endsAt: Int64, comment: String, createdBy: String? = nil, createdAt: Int64, expiredAt: Int64? = nil
    ) {
        self.id = id
        self.checkName = checkName
        self.accountID = accountID
        self.region = region
        self.scheduledAuditName = scheduledAuditName
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.comment = comment
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.expiredAt = expiredAt
    }

    public func isActive(at now: Int64) -> Bool {
        startsAt <= now && now < (expiredAt.map { min($0, endsAt) } ?? endsAt)
    }

    /// Whether a finding of `checkName` in this audit is silenced (activity aside).
    public func covers(checkName: String, accountID: String, region: String?, scheduledAuditName: String?) -> Bool {
        guard CheckCatalog.known.canonicalName(checkName) == self.checkName else { return false }
        if let wanted = self.accountID, wanted != accountID { return false }
        if let wanted = self.region, wanted != region { return false }
        if let pattern = self.scheduledAuditName, !Glob.matches(pattern, scheduledAuditName ?? "") { return false }
        return true
    }
}

extension [Silence] {
    /// The checks of `audit` that an active silence covers at `now`.
    public func silencedChecks(of audit: AuditNotification, at now: Int64) -> Set<String> {
        var silenced = Set<String>()
        for check in audit.checks where contains(where: {
            $0.isActive(at: now) && $0.covers(checkName: check.checkName, accountID: audit.accountID, region: audit.region, scheduledAuditName: audit.scheduledAuditName)
        }) {
            silenced.insert(check.checkName)
        }
        return silenced
    }
}

/// Why a silence cannot be made, in words for whoever asked (the CLI or the API).
public struct SilenceRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var reason: String
    public var description: String { "\(field): \(reason)" }

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }
}

extension Silence {
    /// The most silences in effect at once: each is compared with every finding.
    public static let maxActive = SilenceSQL.maxActive

    /// The longest a silence may last: a finding silenced for longer should be fixed or the
    /// check turned off.
    public static let maxDurationSeconds: Int64 = 366 * 86_400

    /// A silence from what a person typed (`silences add` and `POST /api/v1/silences` both come
    /// here), every field checked: check names are taken by their current name.
    public static func requested(
        check: String, account: String?, region: String?, scheduledAudit: String?, duration: String, comment: String, createdBy: String?,
        id: String, now: Int64
    ) throws(SilenceRequestError) -> Silence {
        func oneLine(_ text: String, max: Int) -> Bool {
            !text.isEmpty && text.count <= max && !text.unicodeScalars.contains { $0.properties.generalCategory == .control }
        }
        let name = CheckCatalog.known.canonicalName(check)
        guard oneLine(name, max: 128), name.allSatisfy({ $0.isASCII && ($0.isUppercase || $0.isNumber || $0 == "_") }) else {
            throw SilenceRequestError(field: "check", reason: "'\(check.prefix(64))' is not a check name such as DEVICE_CERTIFICATE_SHARED_CHECK")
        }
        if let account, !(account.count == 12 && account.allSatisfy { $0.isASCII && $0.isNumber }) {
            throw SilenceRequestError(field: "account", reason: "'\(account.prefix(64))' is not a 12-digit AWS account id")
        }
        if let region, !(oneLine(region, max: 32) && region.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }) {
            throw SilenceRequestError(field: "region", reason: "'\(region.prefix(64))' is not an AWS region such as eu-west-1")
        }
        if let scheduledAudit, !oneLine(scheduledAudit, max: 128) {
            throw SilenceRequestError(field: "scheduledAudit", reason: "must be a name or * glob of 1 to 128 characters on one line")
        }
        guard let seconds = DurationText.seconds(duration), seconds <= maxDurationSeconds else {
            throw SilenceRequestError(field: "for", reason: "'\(duration.prefix(32))' is not a duration such as 2h or 7d, of at most 366d")
        }
        guard oneLine(comment.trimmingCharacters(in: .whitespaces), max: 500) else {
            throw SilenceRequestError(field: "comment", reason: "say why, in 1 to 500 characters on one line")
        }
        if let createdBy, !oneLine(createdBy, max: 128) {
            throw SilenceRequestError(field: "createdBy", reason: "must be 1 to 128 characters on one line")
        }
        return Silence(
            id: id, checkName: name, accountID: account, region: region, scheduledAuditName: scheduledAudit, startsAt: now, endsAt: now + seconds * 1000,
            comment: comment.trimmingCharacters(in: .whitespaces), createdBy: createdBy, createdAt: now
        )
    }
}

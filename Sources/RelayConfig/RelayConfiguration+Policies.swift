import SNS

extension RelayConfiguration.SNS {
    /// `cert_url_hosts` compiled; validated at load, so this only throws for hand-built values.
    public func certificateHostPatterns() throws -> [WholeMatchPattern] {
        try certURLHosts.map(WholeMatchPattern.init)
    }

    /// `cert_url_paths` compiled.
    public func certificatePathPatterns() throws -> [WholeMatchPattern] {
        try certURLPaths.map(WholeMatchPattern.init)
    }

    /// `cert_names` compiled.
    public func certificateNamePatterns() throws -> [WholeMatchPattern] {
        try certNames.map(WholeMatchPattern.init)
    }

    /// The verifier for this configuration; `allowedTopics` overrides `allowed_topics` (the
    /// offline `verify` command judges any topic).
    public func verifier(allowedTopics: AllowedTopics? = nil) throws -> SNSMessageVerifier {
        SNSMessageVerifier(policy: .init(
            signatureVersions: signatureVersions,
            allowedTopics: allowedTopics ?? AllowedTopics(self.allowedTopics),
            freshness: MessageFreshnessPolicy(maxAgeSeconds: maxMessageAgeSeconds),
            certificateURLPolicy: SigningCertificateURLPolicy(allowedHosts: try certificateHostPatterns(), allowedPaths: try certificatePathPatterns())
        ))
    }
}

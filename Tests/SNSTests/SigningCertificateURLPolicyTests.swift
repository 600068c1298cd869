import Foundation
import SNS
import Testing

struct SigningCertificateURLPolicyTests {
    static let policy = SigningCertificateURLPolicy.standard

    @Test(arguments: [
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-7506a1e35b36ef5a444dd1a8e7cc3ed8.pem",
        "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-3242f7d8a5ab6bd5fd3bdf30ed8d5b6c.pem",
        "https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
        "https://sns.us-east-1.amazonaws.com:443/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
        "https://SNS.US-EAST-1.AMAZONAWS.COM/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
        "https://sns.ap-southeast-5.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
        "https://sns.us-isob-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
    ])
    func acceptsGenuineCertificateURLs(_ url: String) {
        #expect(Self.policy.check(url) == nil)
    }

    @Test(arguments: [
        ("http://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem", AWSURLViolation.notHTTPS),
        ("ftp://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem", .notHTTPS),
        ("https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-abc.pem", .hostNotAllowed("sns.us-east-1.amazonaws.com.evil.example")),
        ("https://evil.example/sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem", .hostNotAllowed("evil.example")),
        ("https://evil.example/?sns.us-east-1.amazonaws.com/x.pem", .hostNotAllowed("evil.example")),
        ("https://sns.us-east-1.amazonaws.com@evil.example/SimpleNotificationService-abc.pem", .hasUserinfo),
        ("https://user:pass@sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem", .hasUserinfo),
        ("https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-abc.pem", .hasPort),
        ("https://sns.us-east-1.amazonaws.com:/SimpleNotificationService-abc.pem", .hasPort),
        ("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.txt", .pathNotPEM),
        ("https://sns.us-east-1.amazonaws.com/cert?file=x.pem", .pathNotPEM),
        ("https://sns.us-east-1.amazonaws.com/", .pathNotPEM),
        ("https://sns.us-east-1.amazonaws.com/x.pem#frag", .hasFragment),
        ("https://sns.us-east-1.amazonaws.com\\@evil.example/x.pem", .malformed),
        ("https://sns%2eus-east-1.amazonaws.com/x.pem", .malformed),
        ("https://sns.us-east-1.amazonaws.com./x.pem", .malformed),
        ("https://sns.us-east-1.amazonaws.com /x.pem", .malformed),
        ("https://127.0.0.1/SimpleNotificationService-abc.pem", .hostNotAllowed("127.0.0.1")),
        ("https://sns.amazonaws.com/SimpleNotificationService-abc.pem", .hostNotAllowed("sns.amazonaws.com")),
        ("https://sns.us-east-1.amazonaws.com/%2e%2e/x.pem", .malformed),
        ("https://sns.us-east-1.amazonaws.com/a/../x.pem", .malformed),
        ("", .notHTTPS),
        // Virtual-hosted endpoints of an S3 bucket named "sns": valid TLS, anyone's content.
        ("https://sns.s3.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem", .hostNotAllowed("sns.s3.amazonaws.com")),
        ("https://sns.s3-external-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem", .hostNotAllowed("sns.s3-external-1.amazonaws.com")),
        ("https://sns.s3-accelerate.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem", .hostNotAllowed("sns.s3-accelerate.amazonaws.com")),
        ("https://sns.s3.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem", .hostNotAllowed("sns.s3.us-east-1.amazonaws.com")),
        ("https://sns.s3-website-us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem", .hostNotAllowed("sns.s3-website-us-east-1.amazonaws.com")),
        // Only the file names SNS uses.
        ("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem", .pathNotPEM),
        ("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789ABCDEF0123456789abcdef.pem", .pathNotPEM),
        ("https://sns.us-east-1.amazonaws.com/x/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem", .pathNotPEM),
        ("https://sns.us-east-1.amazonaws.com/evil.pem", .pathNotPEM),
    ])
    func refusesLookalikesAndTricks(_ url: String, _ violation: AWSURLViolation) {
        #expect(Self.policy.check(url) == violation)
    }

    @Test func hostPatternsMatchWholeHostsOnly() throws {
        let pattern = try WholeMatchPattern(#"sns\.[a-z0-9-]+\.amazonaws\.com"#)
        #expect(pattern.matches("sns.eu-west-1.amazonaws.com"))
        #expect(!pattern.matches("sns.eu-west-1.amazonaws.com.evil.example"))
        #expect(!pattern.matches("xsns.eu-west-1.amazonaws.com"))
    }
}

struct SubscribeURLPolicyTests {
    static let policy = SubscribeURLPolicy(allowedHosts: WholeMatchPattern.defaultCertificateHosts.map { try! WholeMatchPattern($0) })
    static let topic = "arn:aws:sns:us-west-2:131990247566:dongie-standard-topic"

    @Test func acceptsAWSConfirmationURL() {
        let url = "https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=\(Self.topic)&Token=2336412f37fb"
        #expect(Self.policy.check(url, topicARN: Self.topic) == nil)
    }

    @Test(arguments: [
        ("https://evil.example/?Action=ConfirmSubscription&TopicArn=\(topic)&Token=x", AWSURLViolation.hostNotAllowed("evil.example")),
        ("https://sns.us-west-2.amazonaws.com/?Action=Publish&TopicArn=\(topic)&Token=x", .notAConfirmationRequest),
        ("https://sns.us-west-2.amazonaws.com/other?Action=ConfirmSubscription&TopicArn=\(topic)&Token=x", .notAConfirmationRequest),
        ("https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-west-2:1:other&Token=x", .notAConfirmationRequest),
        ("https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&Action=Publish&TopicArn=\(topic)&Token=x", .notAConfirmationRequest),
        ("https://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=\(topic)", .notAConfirmationRequest),
        ("http://sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=\(topic)&Token=x", .notHTTPS),
        ("https://a@sns.us-west-2.amazonaws.com/?Action=ConfirmSubscription&TopicArn=\(topic)&Token=x", .hasUserinfo),
    ])
    func refusesAnythingElse(_ url: String, _ violation: AWSURLViolation) {
        #expect(Self.policy.check(url, topicARN: Self.topic) == violation)
    }

    /// Host verdicts are remembered, within a bound, and a remembered verdict is the verdict.
    @Test func remembersHostVerdictsWithinItsBound() throws {
        let pattern = try WholeMatchPattern(WholeMatchPattern.defaultCertificateHosts[0])
        for index in 0..<1000 {
            #expect(!pattern.matches("sns.evil-\(index).example"))
            #expect(pattern.rememberedCount <= WholeMatchPattern.rememberedHosts)
        }
        for _ in 0..<3 {
            #expect(pattern.matches("sns.eu-west-1.amazonaws.com"))
            #expect(!pattern.matches("sns.eu-west-1.amazonaws.com.evil.example"))
        }
        #expect(pattern.rememberedCount >= 2)
    }

    /// A verdict is remembered only for a short ASCII URL: a sender cannot make the memo hold
    /// large strings, nor have a URL answered with the verdict of a canonically equal one
    /// (U+037E GREEK QUESTION MARK equals ";" to Swift's String).
    @Test func remembersOnlyShortASCIIURLs() throws {
        let policy = SigningCertificateURLPolicy(allowedHosts: SigningCertificateURLPolicy.standard.allowedHosts, allowedPaths: [try WholeMatchPattern(#"/.+\.pem"#)])
        let long = "https://sns.us-east-1.amazonaws.com/" + String(repeating: "a", count: 4000) + ".pem"
        #expect(policy.check(long) == .malformed)
        let lookalike = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-\u{037E}x.pem"
        let genuine = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-;x.pem"
        #expect(policy.check(lookalike) == .malformed)
        #expect(policy.check(genuine) == nil)
        #expect(policy.rememberedCount == 1)
    }

    @Test func remembersURLVerdictsWithinItsBound() {
        let policy = SigningCertificateURLPolicy.standard
        for index in 0..<1000 {
            #expect(policy.check("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-\(String(format: "%032x", index)).pem") == nil)
            #expect(policy.check("https://evil.example/\(index).pem") == .hostNotAllowed("evil.example"))
            #expect(policy.rememberedCount <= SigningCertificateURLPolicy.rememberedURLs)
        }
    }
}

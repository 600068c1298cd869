// swift-tools-version:6.2
import Foundation
import PackageDescription

/// Whether the test folders are present (not in the container's build stage).
let hasTests = FileManager.default.fileExists(atPath: Context.packageDirectory + "/Tests")

/// Shared by every target: Swift 6 language mode (strict concurrency) plus the upcoming
/// features that keep existentials and imports explicit.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

/// The benchmark and the tests, declared only when their folders are there: the container image
/// is built from `Sources` alone.
let developmentTargets: [Target] = [
        // Microseconds per message for each stage of the ingest pipeline (docs/PERFORMANCE.md).
        .executableTarget(
            name: "ingest-stages",
            dependencies: [
                "Relay", "SNS", "Storage", "DeviceDefender", "Ingest", "Alerts", "TestSupport", "RelayConfig",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/ingest-stages",
            swiftSettings: swiftSettings
        ),
        // Test keys, certificates and signed envelopes, built in code; shared by the test targets.
        .target(
            name: "TestSupport",
            dependencies: [
                "SNS",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "JSONTests",
            dependencies: ["JSON"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DeviceDefenderTests",
            dependencies: ["DeviceDefender"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AlertsTests",
            dependencies: ["Alerts", "DeviceDefender"],
            exclude: ["Snapshots"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StorageTests",
            dependencies: ["Storage", "DeviceDefender", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SNSTests",
            dependencies: [
                "SNS", "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RelayTests",
            dependencies: [
                "Relay", "SNS", "Curl", "Storage", "Ingest", "Alerts", "TestSupport", "RelayConfig",
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                "DeviceDefender",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            // The python helpers are run from their source location, not bundled.
            exclude: [
                "Support/fake_aws.py", "Support/moto_sns.py", "Support/fake_chat.py", "Support/fake_smtp.py",
                "Support/count_connections.py", "Support/slow_clients.py",
            ],
            swiftSettings: swiftSettings
        ),
]

let package = Package(
    name: "defender-relay",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "defender-relay", targets: ["defender-relay"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // Pure logic: the strict JSON reader for untrusted bodies (envelopes and payloads).
        .target(
            name: "JSON",
            swiftSettings: swiftSettings
        ),
        // Pure logic: the SNS envelope, the string to sign, signature and certificate checks,
        // URL and topic policies. No I/O, no clock: everything it judges is passed in.
        .target(
            name: "SNS",
            dependencies: [
                "JSON",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            swiftSettings: swiftSettings
        ),
        // Pure logic: Device Defender audit and Detect payloads, the check catalog, what changed
        // between two runs of an audit. No I/O.
        .target(
            name: "DeviceDefender",
            dependencies: ["JSON"],
            swiftSettings: swiftSettings
        ),
        // Pure logic: alerts built from stored events, routing decisions, and how each chat or
        // mail service renders them within its limits. No I/O.
        .target(
            name: "Alerts",
            dependencies: ["DeviceDefender", "JSON"],
            swiftSettings: swiftSettings
        ),
        // YAML + environment + secret files → one typed configuration; every key declared once
        // (the reference in docs/CONFIGURATION.md is generated from the declarations), every
        // problem of a file reported at once.
        .target(
            name: "RelayConfig",
            dependencies: [
                "SNS", "Alerts", "DeviceDefender", "Storage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // The one outbound client of the program: libcurl on threads of its own.
        .target(
            name: "Curl",
            dependencies: [
                "CCurl",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Storage",
            dependencies: [
                "DeviceDefender", "JSON",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The ingest transaction, written once for both stores, and group commit in front of it:
        // what gets stored, compared and alerted on, decided above the stores' SQL.
        .target(
            name: "Ingest",
            dependencies: [
                "Storage", "DeviceDefender", "Alerts", "JSON", "SNS",
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Relay",
            dependencies: [
                "SNS", "Curl", "Storage", "DeviceDefender", "Alerts", "Ingest", "JSON", "RelayConfig",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "defender-relay",
            dependencies: [
                "Relay", "SNS", "Curl", "Storage", "DeviceDefender", "Alerts", "Ingest", "RelayConfig",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
    ] + (hasTests ? developmentTargets : []),
    swiftLanguageModes: [.v6]
)

import Foundation
import JSON
import Testing

struct JSONReaderTests {
    @Test func readsEveryKindOfValue() throws {
        let value = try JSONValue.parse(#" {"s":"a\"b\\c\/\u00e9\ud83d\udea8\n","n":-12.5e+2,"i":0,"t":true,"f":false,"z":null,"a":[1,[],{}],"o":{"k":"v"}} "#)
        guard case .object(let object) = value else {
            Issue.record("not an object")
            return
        }
        #expect(object.keys == ["s", "n", "i", "t", "f", "z", "a", "o"])
        #expect(object["s"] == .string("a\"b\\c/é\u{1F6A8}\n"))
        #expect(object["n"]?.numberValue?.literal == "-12.5e+2")
        #expect(object["n"]?.numberValue?.double == -1250)
        #expect(object["n"]?.numberValue?.int64 == nil)
        #expect(object["i"]?.numberValue?.int64 == 0)
        #expect(object["t"] == .bool(true))
        #expect(object["f"] == .bool(false))
        #expect(object["z"] == .null)
        #expect(object["a"] == .array([.number(JSONNumber(literal: "1")), .array([]), .object(JSONObject(members: []))]))
        #expect(object["o"]?.objectValue?["k"] == .string("v"))
        #expect(object["missing"] == nil)
    }

    @Test(arguments: [
        ("", "unexpected end of input"),
        ("{", "unexpected end of input"),
        ("{\"a\":1,}", "expected a string key"),
        ("[1,]", "unexpected character"),
        ("[1 2]", "expected ',' or ']'"),
        ("{\"a\" 1}", "expected ':'"),
        ("01", "unexpected data after the JSON value"),
        ("-", "invalid number"),
        ("1.", "invalid number"),
        ("1e", "invalid number"),
        (".5", "unexpected character"),
        ("+1", "unexpected character"),
        ("NaN", "unexpected character"),
        ("tru", "unexpected end of input"),
        ("nul1", "invalid literal"),
        ("\"abc", "unterminated string"),
        ("\"a\tb\"", "unescaped control character in a string"),
        ("\"\\x\"", "invalid escape"),
        ("\"\\u12\"", "unterminated \\u escape"),
        ("\"\\ud83d\"", "lone surrogate in a \\u escape"),
        ("\"\\udea8\"", "lone surrogate in a \\u escape"),
        ("\"\\ud83d\\u0041\"", "lone surrogate in a \\u escape"),
        ("{\"a\":1,\"a\":2}", "duplicate key \"a\""),
        ("{} {}", "unexpected data after the JSON value"),
        ("'a'", "unexpected character"),
    ])
    func refusesWhatIsNotStrictJSON(_ text: String, _ reason: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(text) }
        do {
            _ = try JSONValue.parse(text)
        } catch {
            #expect(error.reason == reason, "\(text)")
        }
    }

    @Test func refusesInvalidUTF8() {
        for bytes: [UInt8] in [[0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xC0, 0xAF, 0x22]] {
            #expect(throws: JSONSyntaxError(offset: 1, reason: "a string is not valid UTF-8")) { try JSONValue.parse(bytes) }
        }
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse([0xEF, 0xBB, 0xBF] + Array("{}".utf8)) }
    }

    @Test func keysAreComparedByteForByte() throws {
        // U+212A KELVIN SIGN is canonically equivalent to "K": Swift's == calls them equal,
        // another reader does not.
        let object = try #require(try JSONValue.parse("{\"\\u212Aey\":1}").objectValue)
        #expect(object["Key"] == nil)
        #expect(object["\u{212A}ey"] != nil)
        // Canonically equivalent keys are refused as duplicates.
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse("{\"Key\":1,\"\\u212Aey\":2}") }
    }

    @Test func boundsNestingDepthAndNumberLength() throws {
        let deep = String(repeating: "[", count: JSONValue.maximumDepth) + String(repeating: "]", count: JSONValue.maximumDepth)
        #expect(throws: Never.self) { try JSONValue.parse(deep) }
        let deeper = "[" + deep + "]"
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(deeper) }
        // A hostile 100,000-deep document fails fast instead of exhausting the stack.
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(String(repeating: "{\"a\":", count: 100_000)) }
        #expect(throws: Never.self) { try JSONValue.parse(String(repeating: "9", count: 64)) }
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(String(repeating: "9", count: 65)) }
    }

    @Test func findsADuplicateAmongManyKeysQuickly() throws {
        var text = "{" + (0..<40_000).map { "\"k\($0)\":0" }.joined(separator: ",")
        let clock = ContinuousClock()
        let started = clock.now
        #expect(throws: Never.self) { try JSONValue.parse(text + "}") }
        text += ",\"k39999\":1}"
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse(text) }
        // Pairwise comparison of 40,000 keys would take many seconds, hashing milliseconds.
        #expect(clock.now - started < .seconds(5))
    }

    /// Foundation's JSONSerialization as the oracle: on valid documents both readers must see
    /// the same values; on thousands of byte-level mutations of them they must agree on what
    /// is JSON at all, except where this reader is stricter on purpose (repeated keys, lone
    /// surrogates, nesting, long numbers), which is checked case by case.
    @Test func agreesWithFoundationOnValidAndMutatedDocuments() throws {
        let seeds = [
            #"{"Type":"Notification","MessageId":"22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324","Message":"{\"taskId\":\"a\",\"n\":[1,2.5,-3e2]}","Timestamp":"2012-05-02T00:54:06.655Z","SignatureVersion":"1","Signature":"EXAMPLEw6JRN","UnsubscribeURL":null}"#,
            #"[true,false,null,"\u00e9\ud83d\ude00",{"a":{"b":[{"c":0.000001}]}},-0,1E+2]"#,
            #"{"accountId":"123456789012","auditDetails":[{"checkName":"LOGGING_DISABLED_CHECK","checkRunStatus":"COMPLETED_COMPLIANT","nonCompliantResourcesCount":0,"totalResourcesCount":1}]}"#,
            "\"caf\u{E9} \u{1F6A8} \\t\\r\\n\\b\\f\"",
        ]
        var generator = SplitMix(seed: 0x5EED)
        var compared = 0
        for seed in seeds {
            let bytes = Array(seed.utf8)
            try expectSameValue(bytes)
            for _ in 0..<1500 {
                let mutated = mutate(bytes, &generator)
                let ours = Result { try JSONValue.parse(mutated) }
                let foundation = Result { try JSONSerialization.jsonObject(with: Data(mutated), options: [.fragmentsAllowed]) }
                switch (ours, foundation) {
                case (.success(let value), .success(let object)):
                    #expect(same(value, object), "\(String(decoding: mutated, as: UTF8.self))")
                case (.failure, .failure):
                    break
                case (.failure(let error), .success):
                    // Stricter on purpose, and only for these reasons.
                    let reason = (error as? JSONSyntaxError)?.reason ?? ""
                    #expect(reason.hasPrefix("duplicate key") || reason.contains("surrogate") || reason.contains("UTF-8"),
                            "refused what Foundation accepts: \(String(decoding: mutated, as: UTF8.self)): \(reason)")
                case (.success, .failure):
                    Issue.record("accepted what Foundation refuses: \(String(decoding: mutated, as: UTF8.self))")
                }
                compared += 1
            }
        }
        #expect(compared == seeds.count * 1500)
    }

    private func expectSameValue(_ bytes: [UInt8]) throws {
        let ours = try JSONValue.parse(bytes)
        let foundation = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        #expect(same(ours, foundation))
    }

    private func same(_ value: JSONValue, _ object: Any) -> Bool {
        switch value {
        case .null: return object is NSNull
        case .bool(let flag):
            return (object as? NSNumber)?.boolValue == flag
        case .number(let number):
            guard let other = object as? NSNumber else { return false }
            return number.double == other.doubleValue || (number.double.map { abs($0 - other.doubleValue) <= abs($0) * 1e-12 } ?? false)
        case .string(let text):
            guard let other = object as? String else { return false }
            return Array(text.utf8) == Array(other.utf8)
        case .array(let elements):
            guard let others = object as? [Any], others.count == elements.count else { return false }
            return zip(elements, others).allSatisfy { same($0, $1) }
        case .object(let members):
            guard let others = object as? [String: Any], others.count == members.count else { return false }
            return members.members.allSatisfy { member in others[member.key].map { same(member.value, $0) } ?? false }
        }
    }

    private func mutate(_ bytes: [UInt8], _ generator: inout SplitMix) -> [UInt8] {
        var result = bytes
        let interesting: [UInt8] = Array("{}[]\",:\\u0123456789eE+-.tfn \t\n".utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xE9, 0xED, 0xF0, 0xFF]
        for _ in 0...(generator.next() % 3) {
            guard !result.isEmpty else { break }
            let index = Int(generator.next() % UInt64(result.count))
            switch generator.next() % 4 {
            case 0: result.remove(at: index)
            case 1: result.insert(interesting[Int(generator.next() % UInt64(interesting.count))], at: index)
            case 2: result[index] = interesting[Int(generator.next() % UInt64(interesting.count))]
            default:
                // Repeat a slice: duplicates keys and values.
                let end = min(result.count, index + Int(generator.next() % 12))
                result.insert(contentsOf: result[index..<end], at: index)
            }
        }
        return result
    }
}

/// A small deterministic generator, so that a failure reproduces.
struct SplitMix {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct JSONWriterTests {
    @Test func writesWhatTheReaderAndFoundationReadBack() throws {
        let tricky = "quote \" backslash \\ newline \n tab \t nul \u{0} bell \u{7} é \u{1F6A8} \u{2028}"
        var writer = JSONWriter()
        writer.raw("{")
        writer.key("s")
        writer.string(tricky)
        writer.key("n")
        writer.integer(-42)
        writer.key("a")
        writer.strings(["x", "", "\""])
        writer.raw("}")
        let object = try #require(try JSONValue.parse(writer.bytes).objectValue)
        #expect(object["s"] == .string(tricky))
        #expect(object["n"]?.numberValue?.int64 == -42)
        #expect(object["a"] == .array([.string("x"), .string(""), .string("\"")]))
        let foundation = try #require(try JSONSerialization.jsonObject(with: Data(writer.bytes)) as? [String: Any])
        #expect(foundation["s"] as? String == tricky)
    }
}

import JSON
import Mustache

/// Loads webhook and mail templates. Mustache escapes `{{value}}` for HTML by default, which
/// is wrong for a JSON body: a title holding `"` or `\` would end the string early and the
/// receiver would refuse the document. A template whose file name ends in `.json` (or
/// `.json.mustache`) is rendered
/// with the JSON content type instead (as if it began with `{{% CONTENT_TYPE: JSON }}`, which
/// any template may also say itself): values are escaped for use inside a JSON string.
public enum WebhookTemplate {
    /// Parses `text`, read from `path`.
    public static func parse(_ text: String, path: String) throws -> MustacheTemplate {
        _ = registration
        let name = path.lowercased()
        let isJSON = name.hasSuffix(".json") || name.hasSuffix(".json.mustache")
        return try MustacheTemplate(string: isJSON ? "{{% CONTENT_TYPE: JSON }}" + text : text)
    }

    /// Registers the `JSON` content type with Mustache, once per process.
    private static let registration: Void = {
        MustacheContentTypes.register(JSONStringContentType(), named: "JSON")
    }()
}

/// Escapes a value for the inside of a JSON string (`"`, `\` and control characters), as
/// RFC 8259 requires; the template supplies the quotes.
struct JSONStringContentType: MustacheContentType {
    func escapeText(_ text: String) -> String {
        var writer = JSONWriter(capacity: text.utf8.count + 2)
        writer.string(text)
        return String(decoding: writer.bytes.dropFirst().dropLast(), as: UTF8.self)
    }
}

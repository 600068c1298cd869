import CCurl
import Foundation
import Logging
import NIOPosix
import Synchronization

/// The program's one outbound client: libcurl, run on a dedicated thread pool.
///
/// `curl_easy_perform` blocks its thread for the whole transfer, so transfers never run on
/// the NIO event loops or the Swift concurrency pool. Easy handles are pooled and reset
/// between uses, which keeps their connection caches: repeated requests to one host reuse
/// the TLS connection.
public final class CurlClient: Sendable {
    public let configuration: CurlConfiguration
    private let threadPool: NIOThreadPool
    private let idleHandles = Mutex<[EasyHandle]>([])
    private let isShutDown = Atomic<Bool>(false)
    /// Set by `abortTransfers()`: every transfer under way or to come stops at libcurl's next
    /// progress call (at least once a second).
    private let aborting = AbortFlag()

    public init(configuration: CurlConfiguration) {
        _ = CurlClient.globalInit
        self.configuration = configuration
        self.threadPool = NIOThreadPool(numberOfThreads: max(1, configuration.threads))
        self.threadPool.start()
    }

    /// Runs `body` with a client that is shut down afterwards, even when `body` throws.
    public static func withClient<T: Sendable>(
        configuration: CurlConfiguration,
        _ body: (CurlClient) async throws -> T
    ) async throws -> T {
        let client = CurlClient(configuration: configuration)
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }

    /// Performs `request` on a transfer thread. Throws only `CurlError`; any HTTP status is a response.
    public func perform(_ request: CurlRequest) async throws(CurlError) -> CurlResponse {
        guard !isShutDown.load(ordering: .acquiring) else { throw .unavailable("shut down") }
        let result: Result<CurlResponse, CurlError>
        do {
            result = try await threadPool.runIfActive { [self] in
                self.performBlocking(request)
            }
        } catch {
            throw .unavailable("transfer threads stopped")
        }
        return try result.get()
    }

    /// Sends one mail on a transfer thread. Throws `CurlError`; the SMTP reply code of a refusal
    /// is in `.transport`'s message.
    public func sendMail(_ request: CurlMailRequest) async throws(CurlError) -> Int {
        guard !isShutDown.load(ordering: .acquiring) else { throw .unavailable("shut down") }
        let result: Result<Int, CurlError>
        do {
            result = try await threadPool.runIfActive { [self] in self.sendMailBlocking(request) }
        } catch {
            throw .unavailable("transfer threads stopped")
        }
        return try result.get()
    }

    /// Ends every transfer under way within about a second (each fails with
    /// `CURLE_ABORTED_BY_CALLBACK`), and every later one at once: for a shutdown that must not
    /// wait out a receiver that hangs.
    public func abortTransfers() {
        aborting.set()
    }

    /// Lets transfers run again after `abortTransfers()`: for the alert lanes of a reloaded
    /// configuration, once the lanes they replace (whose hanging sends were aborted) stopped.
    public func resumeTransfers() {
        aborting.clear()
    }

    /// Stops the transfer threads (after the transfers under way) and frees the pooled handles.
    public func shutdown() async {
        guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        try? await threadPool.shutdownGracefully()
        let handles = idleHandles.withLock { handles in
            defer { handles.removeAll() }
            return handles
        }
        for handle in handles { curl_easy_cleanup(handle.pointer) }
    }

    deinit {
        if !isShutDown.load(ordering: .acquiring) {
            try? threadPool.syncShutdownGracefully()
            for handle in idleHandles.withLock({ $0 }) { curl_easy_cleanup(handle.pointer) }
        }
    }

    private static let globalInit: Void = {
        curl_global_init(Int(CURL_GLOBAL_DEFAULT))
    }()

    // MARK: - On a transfer thread

    private func checkOutHandle() -> EasyHandle? {
        if let handle = idleHandles.withLock({ $0.popLast() }) {
            curl_easy_reset(handle.pointer)
            return handle
        }
        return curl_easy_init().map(EasyHandle.init)
    }

    private func checkIn(_ handle: EasyHandle) {
        let keep = idleHandles.withLock { handles in
            guard handles.count < max(1, configuration.threads) else { return false }
            handles.append(handle)
            return true
        }
        if !keep { curl_easy_cleanup(handle.pointer) }
    }

    private func performBlocking(_ request: CurlRequest) -> Result<CurlResponse, CurlError> {
        guard let handle = checkOutHandle() else { return .failure(.unavailable("curl_easy_init failed")) }
        let easy = handle.pointer
        let sink = ResponseSink(limit: request.maxResponseBytes)
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        var headerList: UnsafeMutablePointer<curl_slist>?
        var connectToList: UnsafeMutablePointer<curl_slist>?
        let sinkPointer = Unmanaged.passRetained(sink)
        defer {
            sinkPointer.release()
            curl_slist_free_all(headerList)
            curl_slist_free_all(connectToList)
            // The handle must not keep pointers to memory freed here.
            _ = curl_setopt_pointer(easy, CURLOPT_ERRORBUFFER, nil)
            errorBuffer.deallocate()
            checkIn(handle)
        }

        let timeout = request.timeoutSeconds ?? configuration.timeoutSeconds
        connectToList = configureConnection(easy, url: request.url, protocols: request.allowedProtocols, timeout: timeout, errorBuffer: errorBuffer)
        _ = curl_setopt_string(easy, CURLOPT_REDIR_PROTOCOLS_STR, request.allowedProtocols)
        _ = curl_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0)
        _ = curl_setopt_string(easy, CURLOPT_USERAGENT, configuration.userAgent)
        _ = curl_setopt_off_t(easy, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(request.maxResponseBytes))
        for (name, value) in request.headers {
            headerList = curl_slist_append(headerList, "\(name): \(value)")
        }
        headerList = curl_slist_append(headerList, "Expect:")
        _ = curl_setopt_slist(easy, CURLOPT_HTTPHEADER, headerList)

        switch request.method {
        case .get:
            _ = curl_setopt_long(easy, CURLOPT_HTTPGET, 1)
        case .post:
            let body = request.body ?? []
            _ = curl_setopt_long(easy, CURLOPT_POST, 1)
            _ = curl_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            if body.isEmpty {
                _ = curl_setopt_string(easy, CURLOPT_COPYPOSTFIELDS, "")
            } else {
                // COPYPOSTFIELDS copies now, so the Swift array need not outlive this call.
                body.withUnsafeBytes { bytes in
                    _ = curl_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress))
                }
            }
        }
        _ = curl_setopt_data_callback(easy, CURLOPT_WRITEFUNCTION) { buffer, size, count, context in
            guard let context else { return 0 }
            let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
            let length = size * count
            guard let buffer, sink.append(UnsafeRawBufferPointer(start: buffer, count: length)) else { return 0 }
            return length
        }
        _ = curl_setopt_pointer(easy, CURLOPT_WRITEDATA, sinkPointer.toOpaque())
        _ = curl_setopt_data_callback(easy, CURLOPT_HEADERFUNCTION) { buffer, size, count, context in
            guard let context, let buffer else { return 0 }
            let sink = Unmanaged<ResponseSink>.fromOpaque(context).takeUnretainedValue()
            sink.appendHeaderLine(UnsafeRawBufferPointer(start: buffer, count: size * count))
            return size * count
        }
        _ = curl_setopt_pointer(easy, CURLOPT_HEADERDATA, sinkPointer.toOpaque())

        let code = curl_easy_perform(easy)
        if sink.exceeded || code == CURLE_FILESIZE_EXCEEDED {
            return .failure(.responseTooLarge(limit: request.maxResponseBytes))
        }
        guard code == CURLE_OK else {
            return .failure(failure(code, errorBuffer: errorBuffer, timeout: timeout))
        }
        var status = 0
        _ = curl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        return .success(CurlResponse(status: status, body: sink.bytes, headers: sink.headers))
    }
}

extension CurlClient {
    private func sendMailBlocking(_ request: CurlMailRequest) -> Result<Int, CurlError> {
        guard let easy = curl_easy_init() else { return .failure(.unavailable("curl_easy_init failed")) }
        let source = UploadSource(bytes: request.message)
        let sourcePointer = Unmanaged.passRetained(source)
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        var recipients: UnsafeMutablePointer<curl_slist>?
        var connectToList: UnsafeMutablePointer<curl_slist>?
        defer {
            curl_easy_cleanup(easy)
            curl_slist_free_all(recipients)
            curl_slist_free_all(connectToList)
            sourcePointer.release()
            errorBuffer.deallocate()
        }
        let timeout = request.timeoutSeconds ?? configuration.timeoutSeconds
        connectToList = configureConnection(easy, url: request.url, protocols: "smtp,smtps", timeout: timeout, errorBuffer: errorBuffer)
        if request.requireTLS { _ = curl_setopt_long(easy, CURLOPT_USE_SSL, curl_usessl_all()) }
        if let username = request.username { _ = curl_setopt_string(easy, CURLOPT_USERNAME, username) }
        if let password = request.password { _ = curl_setopt_string(easy, CURLOPT_PASSWORD, password) }
        _ = curl_setopt_string(easy, CURLOPT_MAIL_FROM, "<\(request.from)>")
        for recipient in request.recipients { recipients = curl_slist_append(recipients, "<\(recipient)>") }
        _ = curl_setopt_slist(easy, CURLOPT_MAIL_RCPT, recipients)
        _ = curl_setopt_long(easy, CURLOPT_UPLOAD, 1)
        _ = curl_setopt_off_t(easy, CURLOPT_INFILESIZE_LARGE, curl_off_t(request.message.count))
        _ = curl_setopt_data_callback(easy, CURLOPT_READFUNCTION) { buffer, size, count, context in
            guard let buffer, let context else { return 0 }
            return Unmanaged<UploadSource>.fromOpaque(context).takeUnretainedValue().read(into: buffer, capacity: size * count)
        }
        _ = curl_setopt_pointer(easy, CURLOPT_READDATA, sourcePointer.toOpaque())

        let code = curl_easy_perform(easy)
        var reply = 0
        _ = curl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &reply)
        guard code == CURLE_OK else {
            return .failure(failure(code, errorBuffer: errorBuffer, timeout: timeout, smtpReply: reply))
        }
        return .success(reply)
    }

    /// What every transfer shares: URL, allowed protocols, TLS verification on, timeouts, the
    /// trust store and `connect_to`. Returns the `connect_to` list, which the caller frees after
    /// the transfer.
    fileprivate func configureConnection(
        _ easy: UnsafeMutableRawPointer, url: String, protocols: String, timeout: Int, errorBuffer: UnsafeMutablePointer<CChar>
    ) -> UnsafeMutablePointer<curl_slist>? {
        _ = curl_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        _ = curl_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer)
        // The progress callback is how a transfer is aborted; the flag lives as long as the client.
        _ = curl_setopt_long(easy, CURLOPT_NOPROGRESS, 0)
        _ = curl_setopt_progress_callback(easy) { context, _, _, _, _ in
            Unmanaged<AbortFlag>.fromOpaque(context!).takeUnretainedValue().isSet ? 1 : 0
        }
        _ = curl_setopt_pointer(easy, CURLOPT_XFERINFODATA, Unmanaged.passUnretained(aborting).toOpaque())
        _ = curl_setopt_string(easy, CURLOPT_URL, url)
        _ = curl_setopt_string(easy, CURLOPT_PROTOCOLS_STR, protocols)
        _ = curl_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1)
        _ = curl_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2)
        _ = curl_setopt_long(easy, CURLOPT_TIMEOUT_MS, timeout * 1000)
        _ = curl_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, min(configuration.connectTimeoutSeconds, timeout) * 1000)
        if let caFile = configuration.caFile {
            _ = curl_setopt_string(easy, CURLOPT_CAINFO, caFile)
        }
        switch configuration.proxy {
        case .fromEnvironment: break
        // An empty proxy string turns proxying off, environment variables included.
        case .none: _ = curl_setopt_string(easy, CURLOPT_PROXY, "")
        case .url(let url): _ = curl_setopt_string(easy, CURLOPT_PROXY, url)
        }
        var connectTo: UnsafeMutablePointer<curl_slist>?
        for entry in configuration.connectTo {
            connectTo = curl_slist_append(connectTo, entry)
        }
        if connectTo != nil {
            _ = curl_setopt_slist(easy, CURLOPT_CONNECT_TO, connectTo)
        }
        return connectTo
    }

    /// libcurl's failure as a `CurlError`, with its error-buffer message (and the SMTP reply).
    fileprivate func failure(_ code: CURLcode, errorBuffer: UnsafeMutablePointer<CChar>, timeout: Int, smtpReply: Int = 0) -> CurlError {
        if code == CURLE_OPERATION_TIMEDOUT { return .timedOut(seconds: timeout) }
        var message = String(cString: errorBuffer)
        if message.isEmpty { message = String(cString: curl_easy_strerror(code)) }
        return .transport(code: Int(code.rawValue), message: smtpReply > 0 ? "SMTP \(smtpReply): \(message)" : message)
    }
}

/// Feeds an upload from memory to libcurl's read callback.
private final class UploadSource {
    let bytes: [UInt8]
    var offset = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    func read(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        let count = min(capacity, bytes.count - offset)
        guard count > 0 else { return 0 }
        bytes.withUnsafeBufferPointer { source in
            UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress! + offset, byteCount: count)
        }
        offset += count
        return count
    }
}

/// A libcurl easy handle; only ever used by one transfer thread at a time.
private struct EasyHandle: @unchecked Sendable {
    let pointer: UnsafeMutableRawPointer
}

/// Collects the response body on the transfer thread, refusing to grow past the limit.
private final class ResponseSink {
    let limit: Int
    var bytes: [UInt8] = []
    var exceeded = false

    init(limit: Int) {
        self.limit = limit
    }

    var headers: [(name: String, value: String)] = []

    /// Keeps the headers of the last response only (a 100 Continue or redirect starts over).
    func appendHeaderLine(_ line: UnsafeRawBufferPointer) {
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.hasPrefix("HTTP/") {
            headers.removeAll()
        } else if let colon = text.firstIndex(of: ":"), headers.count < 100 {
            headers.append((String(text[..<colon]).lowercased(), String(text[text.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
        }
    }

    func append(_ chunk: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count + chunk.count <= limit else {
            exceeded = true
            return false
        }
        bytes.append(contentsOf: chunk)
        return true
    }
}

/// Whether transfers must stop (read on transfer threads from libcurl's progress callback).
final class AbortFlag: Sendable {
    private let value = Atomic<Bool>(false)

    func set() { value.store(true, ordering: .releasing) }
    func clear() { value.store(false, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

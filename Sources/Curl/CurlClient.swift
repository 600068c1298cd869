import CCurl
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
        _ = curl_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        _ = curl_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer)
        _ = curl_setopt_string(easy, CURLOPT_URL, request.url)
        _ = curl_setopt_string(easy, CURLOPT_PROTOCOLS_STR, request.allowedProtocols)
        _ = curl_setopt_string(easy, CURLOPT_REDIR_PROTOCOLS_STR, request.allowedProtocols)
        _ = curl_setopt_long(easy, CURLOPT_FOLLOWLOCATION, 0)
        _ = curl_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 1)
        _ = curl_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 2)
        _ = curl_setopt_long(easy, CURLOPT_TIMEOUT_MS, timeout * 1000)
        _ = curl_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, min(configuration.connectTimeoutSeconds, timeout) * 1000)
        _ = curl_setopt_string(easy, CURLOPT_USERAGENT, configuration.userAgent)
        _ = curl_setopt_off_t(easy, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(request.maxResponseBytes))
        if let caFile = configuration.caFile {
            _ = curl_setopt_string(easy, CURLOPT_CAINFO, caFile)
        }
        for entry in configuration.connectTo {
            connectToList = curl_slist_append(connectToList, entry)
        }
        if connectToList != nil {
            _ = curl_setopt_slist(easy, CURLOPT_CONNECT_TO, connectToList)
        }
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

        let code = curl_easy_perform(easy)
        if sink.exceeded || code == CURLE_FILESIZE_EXCEEDED {
            return .failure(.responseTooLarge(limit: request.maxResponseBytes))
        }
        guard code == CURLE_OK else {
            if code == CURLE_OPERATION_TIMEDOUT { return .failure(.timedOut(seconds: timeout)) }
            var message = String(cString: errorBuffer)
            if message.isEmpty { message = String(cString: curl_easy_strerror(code)) }
            return .failure(.transport(code: Int(code.rawValue), message: message))
        }
        var status = 0
        _ = curl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        return .success(CurlResponse(status: status, body: sink.bytes))
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

    func append(_ chunk: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count + chunk.count <= limit else {
            exceeded = true
            return false
        }
        bytes.append(contentsOf: chunk)
        return true
    }
}

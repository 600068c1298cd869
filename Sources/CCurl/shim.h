#ifndef DEFENDER_RELAY_CCURL_SHIM_H
#define DEFENDER_RELAY_CCURL_SHIM_H

#include <curl/curl.h>

// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call: one typed
// wrapper per argument type.

static inline CURLcode curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode curl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode curl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode curl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode curl_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

typedef size_t (*curl_data_callback)(char *buffer, size_t size, size_t count, void *context);

static inline CURLcode curl_setopt_data_callback(CURL *handle, CURLoption option, curl_data_callback callback) {
    return curl_easy_setopt(handle, option, callback);
}

typedef int (*relay_xferinfo_callback)(void *context, curl_off_t download_total, curl_off_t download_now, curl_off_t upload_total, curl_off_t upload_now);

/// CURLOPT_XFERINFOFUNCTION: returning non-zero aborts the transfer (CURLE_ABORTED_BY_CALLBACK).
static inline CURLcode curl_setopt_progress_callback(CURL *handle, relay_xferinfo_callback callback) {
    return curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, callback);
}

/// SMTP's USE_SSL takes a curl_usessl value.
static inline long curl_usessl_all(void) { return (long)CURLUSESSL_ALL; }

static inline CURLcode curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

#endif

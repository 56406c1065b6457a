package executor

import "strings"

// commonHeaders maps the canonical names of the headers most requests and
// responses carry to their lower-case form, so that building the request map
// and the log record does not allocate a lower-case copy of each name.
var commonHeaders = func() map[string]string {
	m := map[string]string{}
	for _, h := range []string{
		"Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control",
		"Connection", "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length",
		"Content-Security-Policy", "Content-Type", "Cookie", "Dnt", "Etag", "Expires", "Forwarded", "Host",
		"If-Match", "If-Modified-Since", "If-None-Match", "Last-Modified", "Location", "Origin", "Pragma",
		"Proxy-Authorization", "Range", "Referer", "Sec-Ch-Ua", "Sec-Ch-Ua-Mobile", "Sec-Ch-Ua-Platform",
		"Sec-Fetch-Dest", "Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-User", "Set-Cookie", "Traceparent",
		"Upgrade-Insecure-Requests", "User-Agent", "Vary", "Via", "X-Api-Key", "X-Content-Type-Options",
		"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip", "X-Request-Id",
	} {
		m[h] = strings.ToLower(h)
	}
	return m
}()

// LowerHeader returns a header name in lower case, without allocating for
// common headers and names already in lower case.
func LowerHeader(name string) string {
	if l, ok := commonHeaders[name]; ok {
		return l
	}
	return strings.ToLower(name) // returns name itself when it has no upper case
}

// JoinHeader joins a repeated header's values with ", ".
func JoinHeader(values []string) string {
	switch len(values) {
	case 0:
		return ""
	case 1:
		return values[0]
	}
	return strings.Join(values, ", ")
}

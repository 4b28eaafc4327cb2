-- wrk script: one fixed request (POST form by default) with optional HTTP
-- Basic client authentication, bearer token and "Connection: close".
-- Env: WRK_METHOD (POST), WRK_BODY, WRK_CTYPE (form-urlencoded),
--      WRK_BASIC ("id:secret", base64-encoded here; empty = none),
--      WRK_BEARER (token; empty = none), WRK_CLOSE=1 (new connection per
--      request: the server closes after each answer and wrk reconnects).
-- Prints one RESULT line (same format as ../shared/bench/post.lua).
local function b64(s)
  local c = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  return ((s:gsub('.', function(x)
    local r, b = '', x:byte()
    for i = 8, 1, -1 do r = r .. (b % 2 ^ i - b % 2 ^ (i - 1) > 0 and '1' or '0') end
    return r
  end) .. '0000'):gsub('%d%d%d?%d?%d?%d?', function(x)
    if #x < 6 then return '' end
    local n = 0
    for i = 1, 6 do n = n + (x:sub(i, i) == '1' and 2 ^ (6 - i) or 0) end
    return c:sub(n + 1, n + 1)
  end) .. ({ '', '==', '=' })[#s % 3 + 1])
end
wrk.method = os.getenv("WRK_METHOD") or "POST"
if wrk.method == "POST" then
  wrk.body = os.getenv("WRK_BODY") or "grant_type=client_credentials"
  wrk.headers["Content-Type"] = os.getenv("WRK_CTYPE") or "application/x-www-form-urlencoded"
end
local basic = os.getenv("WRK_BASIC")
if basic and #basic > 0 then wrk.headers["Authorization"] = "Basic " .. b64(basic) end
local bearer = os.getenv("WRK_BEARER")
if bearer and #bearer > 0 then wrk.headers["Authorization"] = "Bearer " .. bearer end
if os.getenv("WRK_CLOSE") == "1" then wrk.headers["Connection"] = "close" end
-- WRK_HEADERS: extra headers, "Name: value|Name2: value2"
for h in string.gmatch(os.getenv("WRK_HEADERS") or "", "[^|]+") do
  local k, v = h:match("^%s*([^:]+):%s*(.*)$")
  if k then wrk.headers[k] = v end
end

function done(summary, latency, requests)
  local s = summary
  local secs = s.duration / 1e6
  io.write(string.format("RESULT requests=%d secs=%.2f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f non2xx=%d sockerr=%d\n",
    s.requests, secs, s.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    s.errors.status, s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout))
end

-- wrk script: client_credentials from many registered clients (scale test).
-- Clients WRK_CLIENT_PREFIX..%06d, 0 <= i < WRK_NCLIENTS, all with the
-- secret WRK_SECRET.  Each thread precomputes 2,000 random clients' Basic
-- headers in init (so wrk's own CPU stays low) and cycles through them.
local tid_counter = 0
function setup(thread)
  thread:set("tid", tid_counter)
  tid_counter = tid_counter + 1
end
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
local reqs, pos = {}, 0
function init(args)
  math.randomseed(1000 + tid)
  local n = tonumber(os.getenv("WRK_NCLIENTS"))
  local pre, sec = os.getenv("WRK_CLIENT_PREFIX"), os.getenv("WRK_SECRET")
  for k = 1, 2000 do
    local id = string.format("%s%06d", pre, math.random(0, n - 1))
    reqs[k] = wrk.format("POST", nil, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Authorization"] = "Basic " .. b64(id .. ":" .. sec) },
      "grant_type=client_credentials&scope=bench")
  end
end
function request()
  pos = pos % #reqs + 1
  return reqs[pos]
end
function done(summary, latency, requests)
  local s = summary
  local secs = s.duration / 1e6
  io.write(string.format("RESULT requests=%d secs=%.2f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f non2xx=%d sockerr=%d\n",
    s.requests, secs, s.requests / secs,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    s.errors.status, s.errors.connect + s.errors.read + s.errors.write + s.errors.timeout))
end
